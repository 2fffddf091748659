//! rrdtool's pipe mode (`rrdtool -`): how an argv is written as one input line, and how a
//! reply is read back.
//!
//! Input: rrdtool splits a line at spaces; `"` and `'` quote (the other quote character is
//! literal inside), and quotes may start or end in the middle of an argument. There is no
//! backslash escape and no way to write a newline.
//!
//! Output: lines, ending with `OK u:… s:… r:…` or `ERROR: message`. A line
//! `key = BLOB_SIZE:n` is followed by exactly n raw bytes (the image of `graphv -`).

use std::io::BufRead;

/// Why an argument cannot be written on a pipe-mode line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument {} contains a line break or NUL, which rrdtool's pipe mode cannot carry", crate::naming::display_name(.0))]
pub struct Unencodable(pub Vec<u8>);

/// Whether `arg` can be written on a pipe-mode line (no line break, no NUL).
pub fn encodable(arg: &[u8]) -> bool {
    !arg.iter().any(|b| matches!(b, b'\n' | b'\r' | b'\0'))
}

/// Encodes an argv (without the leading `rrdtool`) as one pipe-mode line, without the
/// newline.
///
/// ```
/// use collectd_rrd::rrdtool::pipe::encode_line;
///
/// assert_eq!(encode_line(&["info", "/rrd/a b/x.rrd"]).unwrap(), "info \"/rrd/a b/x.rrd\"");
/// assert!(encode_line(&["info", "/rrd/a\nb/x.rrd"]).is_err());
/// ```
pub fn encode_line<S: AsRef<str>>(args: &[S]) -> Result<String, Unencodable> {
    let line = encode_line_bytes(args.iter().map(|a| a.as_ref().as_bytes()))?;
    // Only ASCII was added to UTF-8 arguments.
    Ok(String::from_utf8(line).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// [`encode_line`] for arguments of any bytes (paths that are not UTF-8): rrdtool splits
/// the line byte by byte, so every byte but a line break or NUL passes.
///
/// ```
/// use collectd_rrd::rrdtool::pipe::encode_line_bytes;
///
/// let line = encode_line_bytes([&b"last"[..], b"/rrd/nu\xff/p/gauge.rrd"]).unwrap();
/// assert_eq!(line, b"last /rrd/nu\xff/p/gauge.rrd");
/// ```
pub fn encode_line_bytes<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, Unencodable> {
    let mut line = Vec::new();
    for (i, arg) in args.into_iter().enumerate() {
        if !encodable(arg) {
            return Err(Unencodable(arg.to_vec()));
        }
        if i > 0 {
            line.push(b' ');
        }
        let plain = !arg.is_empty() && !arg.iter().any(|&b| b <= b' ' || b == b'"' || b == b'\'');
        if plain {
            line.extend_from_slice(arg);
        } else {
            // Double-quote the whole argument; a `"` closes the double quotes, is written
            // inside single quotes, and the double quotes reopen.
            line.push(b'"');
            for &b in arg {
                if b == b'"' {
                    line.extend_from_slice(b"\"'\"'\"");
                } else {
                    line.push(b);
                }
            }
            line.push(b'"');
        }
    }
    Ok(line)
}

/// One reply of rrdtool's pipe mode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// The text lines before the final `OK` (blob lines excluded), without newlines.
    pub lines: Vec<String>,
    /// Blobs announced with `key = BLOB_SIZE:n`, by key.
    pub blobs: Vec<(String, Vec<u8>)>,
}

impl Reply {
    /// The `key = value` lines of an `info`-style reply, with string values unquoted.
    pub fn info(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
                Some((k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// The lines joined with newlines (the body of `xport`).
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// What reading a reply gave.
#[derive(Debug)]
pub enum ReadOutcome {
    /// `OK …`.
    Ok(Reply),
    /// `ERROR: message`: the command failed, the process is fine.
    Error(String),
    /// The stream ended or broke: the process is gone or unusable. The flag says
    /// whether any output of this reply had been read before.
    Broken(String, bool),
}

/// Largest blob accepted (an image), to bound memory if the stream is garbage.
const MAX_BLOB: usize = 256 << 20;

/// Reads one reply from rrdtool's stdout.
pub fn read_reply(r: &mut impl BufRead) -> ReadOutcome {
    let mut reply = Reply::default();
    let mut buf = Vec::new();
    let mut started = false;
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) => return ReadOutcome::Broken("rrdtool closed its output".into(), started),
            Ok(_) => started = true,
            Err(e) => {
                return ReadOutcome::Broken(format!("reading rrdtool's output: {e}"), started);
            }
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let line = String::from_utf8_lossy(&buf).into_owned();
        if line == "OK" || line.starts_with("OK ") {
            return ReadOutcome::Ok(reply);
        }
        if let Some(msg) = line.strip_prefix("ERROR: ").or(line.strip_prefix("ERROR:")) {
            return ReadOutcome::Error(msg.trim().to_owned());
        }
        if let Some((key, size)) = line.split_once(" = BLOB_SIZE:") {
            let Ok(n) = size.trim().parse::<usize>() else {
                return ReadOutcome::Broken(format!("bad blob size in {line:?}"), true);
            };
            if n > MAX_BLOB {
                return ReadOutcome::Broken(format!("blob of {n} bytes is too large"), true);
            }
            let mut blob = vec![0; n];
            if let Err(e) = r.read_exact(&mut blob) {
                return ReadOutcome::Broken(format!("reading a {n}-byte blob: {e}"), true);
            }
            reply.blobs.push((key.to_owned(), blob));
            continue;
        }
        reply.lines.push(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lines() {
        assert_eq!(encode_line(&["graphv", "-", "DEF:a=b:c:AVERAGE"]).unwrap(), "graphv - DEF:a=b:c:AVERAGE");
        assert_eq!(encode_line(&["a b", ""]).unwrap(), "\"a b\" \"\"");
        assert_eq!(encode_line(&["it's"]).unwrap(), "\"it's\"");
        assert_eq!(encode_line(&["say \"hi\""]).unwrap(), "\"say \"'\"'\"hi\"'\"'\"\"");
        assert_eq!(encode_line(&["tab\there"]).unwrap(), "\"tab\there\"");
        assert!(encode_line(&["a\nb"]).is_err());
    }

    #[test]
    fn reads_replies() {
        let mut input: &[u8] =
            b"graph_left = 51\nimage = BLOB_SIZE:5\nab\ncdOK u:0.01 s:0.00 r:0.02\nx\nERROR: no such file\n";
        let ReadOutcome::Ok(r) = read_reply(&mut input) else { panic!() };
        assert_eq!(r.lines, ["graph_left = 51"]);
        assert_eq!(r.blobs, [("image".to_owned(), b"ab\ncd".to_vec())]);
        assert_eq!(r.info(), [("graph_left".to_owned(), "51".to_owned())]);
        let ReadOutcome::Error(e) = read_reply(&mut input) else { panic!() };
        assert_eq!(e, "no such file");
        assert!(matches!(read_reply(&mut input), ReadOutcome::Broken(_, _)));
    }

    #[test]
    fn truncated_blob_is_broken() {
        let mut input: &[u8] = b"image = BLOB_SIZE:50\nabc";
        assert!(matches!(read_reply(&mut input), ReadOutcome::Broken(_, _)));
    }
}
