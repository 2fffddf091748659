//! Escaping for the three languages an argument passes through: rrdtool's `:`-separated
//! graph elements, rrdtool legends, and the POSIX shell.

/// Escapes one field of a `:`-separated rrdtool element (a DEF path, a legend):
/// every `:` becomes `\:`.
///
/// rrdtool's element parser treats a backslash as an escape only before a colon; any other
/// backslash is kept literally. So `\` needs no escaping of its own, and a literal `\`
/// before a literal `:` comes out right (`a\:b` → `a\\:b` → parsed back as `a\:b`). What
/// cannot be written is a field *ending* in `\` (it would escape the separator): callers
/// refuse such paths and [`legend`] neutralises such legends.
pub fn field(s: &str) -> String {
    s.replace(':', "\\:")
}

/// Escapes a legend or comment: `:` as in [`field`]; if the text contains a backslash, a
/// trailing `\.` (rrdtool's "no-op" control code) is appended so that a backslash near the
/// end is not read as a control code (`\l`, `\r`, `\c`, `\j`, `\g`, `\s`).
pub fn legend(s: &str) -> String {
    let mut out = field(s);
    if s.contains('\\') {
        out.push_str("\\.");
    }
    out
}

/// Whether `c` can appear in a shell word without quoting.
fn shell_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-+=:,./@%".contains(c)
}

/// Whether `c` must not reach a terminal as it is: control characters (`ESC`, `BEL`, C1)
/// and characters that hide or reorder text.
fn terminal_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Quotes one word for a POSIX shell: unchanged when it is made only of safe characters,
/// otherwise in single quotes (with `'` written as `'\''`). `#` is safe except at the start
/// of a word. A word with control characters (a file name from the network may hold
/// `ESC[31m`) is written `$'…'` with those characters as `\xHH` bytes, so the printed
/// line never carries a terminal escape and the shell still reads the same word.
///
/// ```
/// use collectd_rrd::graph::escape::shell_word;
///
/// assert_eq!(shell_word("a b"), "'a b'");
/// assert_eq!(shell_word("DEF:a=/rrd/\x1b[31m/x.rrd"), r"$'DEF:a=/rrd/\x1b[31m/x.rrd'");
/// ```
pub fn shell_word(s: &str) -> String {
    let safe = !s.is_empty() && s.char_indices().all(|(i, c)| shell_safe(c) || (c == '#' && i > 0));
    if safe {
        return s.to_owned();
    }
    if !s.chars().any(terminal_unsafe) {
        return format!("'{}'", s.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if terminal_unsafe(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Quotes an argv into one shell command line.
pub fn shell_line<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter().map(|a| shell_word(a.as_ref())).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(field("/a:b/c.rrd"), "/a\\:b/c.rrd");
        assert_eq!(field("a\\b"), "a\\b");
        assert_eq!(legend("x:y"), "x\\:y");
        assert_eq!(legend("ends\\"), "ends\\\\.");
        assert_eq!(legend("plain"), "plain");
    }

    #[test]
    fn shell() {
        assert_eq!(shell_word("DEF:a=/x.rrd:value:AVERAGE"), "DEF:a=/x.rrd:value:AVERAGE");
        assert_eq!(shell_word("LINE1:a#ff0000"), "LINE1:a#ff0000");
        assert_eq!(shell_word("#x"), "'#x'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word("a\\:b"), "'a\\:b'");
        assert_eq!(shell_line(&["rrdtool", "graph", "-"]), "rrdtool graph -");
        assert_eq!(shell_word("\u{1b}]0;x\u{7}'\\"), r"$'\x1b]0;x\x07\'\\'");
        assert_eq!(shell_word("a\u{9b}b"), r"$'a\xc2\x9bb'");
    }
}
