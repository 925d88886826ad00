//! Strict JSON objects for token headers and payloads.
//!
//! `serde_json` keeps the last value when an object repeats a key. Two parsers that disagree
//! on which duplicate wins are a classic confusion vector (one component checks the first
//! `exp`, another trusts the last), so header and payload objects are parsed here with a
//! visitor that refuses duplicate keys at every nesting level.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parse `bytes` as one JSON object whose keys are unique at every level.
///
/// Returns `None` for invalid JSON, a non-object top-level value, or a repeated key.
pub(crate) fn strict_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let StrictValue(value) = StrictValue::deserialize(&mut de).ok()?;
    de.end().ok()?;
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A `serde_json::Value` whose objects never repeat a key.
pub(crate) struct StrictValue(pub(crate) Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate object keys")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value_seed(StrictSeed)?;
            if map.contains_key(&key) {
                return Err(de::Error::custom("duplicate object key"));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = StrictValue;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let map = strict_object(br#"{"a":1,"b":[1,{"c":null}],"d":"x","e":1.5,"f":true}"#);
        assert_eq!(map.map(|m| m.len()), Some(5));
    }

    #[test]
    fn rejects_duplicates_at_any_level() {
        assert!(strict_object(br#"{"a":1,"a":2}"#).is_none());
        assert!(strict_object(br#"{"a":{"b":1,"b":1}}"#).is_none());
        assert!(strict_object(br#"{"a":[{"b":1,"b":2}]}"#).is_none());
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        for bad in [
            &b"[]"[..],
            b"1",
            b"\"x\"",
            b"null",
            b"{} {}",
            b"{",
            b"",
            b"\xff",
        ] {
            assert!(strict_object(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn keeps_big_integers_exact() {
        let map = strict_object(br#"{"a":9223372036854775807,"b":18446744073709551615}"#);
        let map = map.unwrap_or_default();
        assert_eq!(map.get("a").and_then(Value::as_i64), Some(i64::MAX));
        assert_eq!(map.get("b").and_then(Value::as_u64), Some(u64::MAX));
    }
}
