//! A lenient reader of `rrdtool xport --json` output.
//!
//! Several rrdtool versions emit invalid JSON here (unquoted or unescaped strings, `NaN`,
//! `inf`, missing or extra commas), so this is not a JSON parser: it tokenises loosely,
//! builds a tree, and takes `meta.start/end/step/legend` and `data` from it. Numbers may
//! be bare or quoted (`--showtime` quotes timestamps); `null`, `NaN`, `nan`, `inf`, `-inf`
//! and anything unparsable become `None`.

/// Why xport output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read rrdtool xport output: {0}")]
pub struct XportError(pub String);

/// The data of one `xport`.
#[derive(Debug, Clone, PartialEq)]
pub struct Xport {
    /// First timestamp (end of the first interval).
    pub start: i64,
    /// Last timestamp.
    pub end: i64,
    /// Seconds between rows.
    pub step: i64,
    /// One legend per column.
    pub legends: Vec<String>,
    /// Rows: timestamp and one value per column (`None`: unknown).
    pub rows: Vec<(i64, Vec<Option<f64>>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Word(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        let s = match self {
            Value::Str(s) | Value::Word(s) => s.trim(),
            _ => return None,
        };
        let v: f64 = s.parse().ok()?;
        v.is_finite().then_some(v)
    }

    fn text(&self) -> String {
        match self {
            Value::Str(s) | Value::Word(s) => s.clone(),
            _ => String::new(),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while self.i < self.s.len() && (self.s[self.i].is_ascii_whitespace() || self.s[self.i] == b',') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value, XportError> {
        self.skip();
        let Some(&c) = self.s.get(self.i) else {
            return Err(XportError("unexpected end".into()));
        };
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > 64 {
                    return Err(XportError("nested too deeply".into()));
                }
                self.i += 1;
                let close = if c == b'{' { b'}' } else { b']' };
                let mut map = Vec::new();
                let mut list = Vec::new();
                loop {
                    self.skip();
                    match self.s.get(self.i) {
                        None => break, // unterminated: take what there is
                        Some(&x) if x == close => {
                            self.i += 1;
                            break;
                        }
                        Some(b'}') | Some(b']') => {
                            self.i += 1; // mismatched closer: tolerate
                            break;
                        }
                        _ => {}
                    }
                    let v = self.value()?;
                    self.skip();
                    if c == b'{' {
                        if self.s.get(self.i) == Some(&b':') {
                            self.i += 1;
                            let inner = self.value()?;
                            map.push((v.text(), inner));
                        } else {
                            map.push((v.text(), Value::Word(String::new())));
                        }
                    } else {
                        list.push(v);
                    }
                }
                self.depth -= 1;
                Ok(if c == b'{' { Value::Map(map) } else { Value::List(list) })
            }
            b'"' => {
                self.i += 1;
                let mut out = Vec::new();
                while let Some(&b) = self.s.get(self.i) {
                    self.i += 1;
                    match b {
                        b'\\' => {
                            if let Some(&n) = self.s.get(self.i) {
                                self.i += 1;
                                out.push(match n {
                                    b'n' => b'\n',
                                    b't' => b'\t',
                                    other => other,
                                });
                            }
                        }
                        // An unescaped quote inside a string (some versions) ends it only
                        // when what follows looks like the end of a value.
                        b'"' => {
                            let next = self.s[self.i..].iter().find(|b| !b.is_ascii_whitespace() && **b != b' ');
                            if matches!(next, None | Some(b',' | b':' | b']' | b'}' | b'\n')) {
                                break;
                            }
                            out.push(b);
                        }
                        _ => out.push(b),
                    }
                }
                Ok(Value::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            _ => {
                let start = self.i;
                while let Some(&b) = self.s.get(self.i) {
                    if b.is_ascii_whitespace() || b",:[]{}".contains(&b) {
                        break;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    self.i += 1; // a stray ':' or similar
                }
                Ok(Value::Word(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
            }
        }
    }
}

/// Parses the output of `rrdtool xport --json [--showtime]`. Without `--showtime`, row
/// times are computed from `meta.start` and `meta.step`.
pub fn parse(text: &str) -> Result<Xport, XportError> {
    let begin = text.find('{').ok_or_else(|| XportError("no JSON object in output".into()))?;
    let mut p = Parser { s: &text.as_bytes()[begin..], i: 0, depth: 0 };
    let root = p.value()?;
    let meta = root.get("meta").ok_or_else(|| XportError("no \"meta\"".into()))?;
    let num = |k: &str| {
        meta.get(k).and_then(Value::number).map(|v| v as i64).ok_or_else(|| XportError(format!("no meta.{k}")))
    };
    let (start, end, step) = (num("start")?, num("end")?, num("step")?);
    let legends = match meta.get("legend") {
        Some(Value::List(l)) => l.iter().map(Value::text).collect(),
        _ => Vec::new(),
    };
    let columns = legends.len();
    let mut rows = Vec::new();
    if let Some(Value::List(data)) = root.get("data") {
        for (n, row) in data.iter().enumerate() {
            let Value::List(cells) = row else { continue };
            let (time, values) = if cells.len() == columns + 1 {
                (cells[0].number().map(|t| t as i64), &cells[1..])
            } else {
                (None, &cells[..])
            };
            let time = time.unwrap_or(start + n as i64 * step);
            rows.push((time, values.iter().map(Value::number).collect()));
        }
    }
    Ok(Xport { start, end, step, legends, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rrdtool_1_7_output() {
        let text = r#"{ "about": "RRDtool graph JSON output",
  "meta": {
    "start": 1795544290,
    "end": 1795544310,
    "step": 10,
    "legend": [
      "x:y"
          ]
     },
  "data": [
    [ "1795544290",null ],
    [ "1795544300",1.5000000000e+00 ],
    [ "1795544310",NaN ]
  ]
}"#;
        let x = parse(text).unwrap();
        assert_eq!((x.start, x.end, x.step), (1795544290, 1795544310, 10));
        assert_eq!(x.legends, ["x:y"]);
        assert_eq!(x.rows, [(1795544290, vec![None]), (1795544300, vec![Some(1.5)]), (1795544310, vec![None])]);
    }

    #[test]
    fn tolerates_broken_json() {
        // Unescaped quote in a legend, trailing commas, no timestamps, inf.
        let text = "{ meta: { start: 100, end: 120, step: 10, legend: [ \"a \"b\" c\", \"d\", ], },\n data: [ [ 1, inf ], [ -nan, 2e0, ], ] }";
        let x = parse(text).unwrap();
        assert_eq!(x.legends, ["a \"b\" c", "d"]);
        assert_eq!(x.rows, [(100, vec![Some(1.0), None]), (110, vec![None, Some(2.0)])]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse("").is_err());
        assert!(parse("{").is_err());
        assert!(parse("{{{{[[[[\"").is_err());
        let deep = "[".repeat(1000);
        assert!(parse(&format!("{{\"meta\":{deep}")).is_err());
    }
}
