//! Stripe's request bodies: `application/x-www-form-urlencoded` with bracket notation
//! (`metadata[invoice_id]=…`, `line_items[0][price_data][unit_amount]=4990`), into JSON.

use serde_json::{Map, Value};

/// `a[b][0][c]` → `["a", "b", "0", "c"]`; `None` for a malformed key.
fn path(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut out = vec![head.to_owned()];
    while !rest.is_empty() {
        let close = rest.find(']')?;
        if !rest.starts_with('[') {
            return None;
        }
        out.push(rest[1..close].to_owned());
        rest = &rest[close + 1..];
    }
    Some(out)
}

fn insert(map: &mut Map<String, Value>, path: &[String], value: String) -> Result<(), String> {
    let (first, rest) = path.split_first().ok_or("empty key")?;
    // `expand[]=a&expand[]=b`: an empty segment appends.
    let first = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(first, Value::String(value));
        return Ok(());
    }
    let child = map.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    match child {
        Value::Object(m) => insert(m, rest, value),
        _ => Err(format!("{first} is both a value and an object")),
    }
}

/// Objects whose keys are all indices become arrays, in index order.
fn arrays(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let all_indices = !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok());
            if all_indices {
                let mut items: Vec<(usize, Value)> = m
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(usize::MAX), arrays(v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(m.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

pub fn parse(body: &[u8]) -> Result<Value, String> {
    let mut root = Map::new();
    for (k, v) in form_urlencoded::parse(body) {
        let p = path(&k).ok_or_else(|| format!("malformed parameter name {k:?}"))?;
        insert(&mut root, &p, v.into_owned())?;
    }
    Ok(arrays(Value::Object(root)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_nest_and_indices_make_arrays() {
        let v = parse(
            b"mode=payment&metadata[invoice_id]=abc&line_items[0][price_data][unit_amount]=4990\
              &line_items[0][quantity]=1&line_items[1][quantity]=2&expand[]=x&expand[]=y",
        )
        .unwrap();
        assert_eq!(v["mode"], "payment");
        assert_eq!(v["metadata"]["invoice_id"], "abc");
        assert_eq!(v["line_items"][0]["price_data"]["unit_amount"], "4990");
        assert_eq!(v["line_items"][1]["quantity"], "2");
        assert_eq!(v["expand"], serde_json::json!(["x", "y"]));
        assert!(parse(b"a[b=1").is_err());
    }
}
