//! Redis session store (being written).
