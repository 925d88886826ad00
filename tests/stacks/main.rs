//! The layers inside other stacks: nested verification layers (`nested_layers`), plain
//! hyper (`hyper_example`, the routes of `examples/hyper_server.rs`) and a real tonic
//! server and client (`grpc`, the service of `examples/grpc_server.rs`). One test binary
//! for the three, to link once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../examples/grpc/app.rs"]
#[allow(dead_code, unreachable_pub)]
mod grpc_app;
#[path = "../../examples/hyper/app.rs"]
#[allow(dead_code, unreachable_pub)]
mod hyper_app;

mod grpc;
mod hyper_example;
mod nested_layers;
