//! Signing (HMAC-SHA-256) and encryption (AES-256-OFB) of datagrams, and collectd's AuthFile.
//!
//! The layouts are collectd's (`network.c`):
//! - signed: `0x0200 | 36+ulen | HMAC[32] | username | payload…`, where the MAC is
//!   HMAC-SHA-256 keyed with the password over `username ‖ payload`;
//! - encrypted: `0x0210 | 42+ulen+plen | ulen | username | IV[16] | AES-256-OFB(SHA1(payload) ‖ payload)`,
//!   keyed with SHA-256 of the password, with a fresh random IV for every datagram.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use aes::Aes256;
use hmac::{Hmac, Mac};
use ofb::cipher::{KeyIvInit, StreamCipher};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::part;

type HmacSha256 = Hmac<Sha256>;
type Aes256Ofb = ofb::Ofb<Aes256>;

/// Bytes a signature part adds before the username.
///
/// ```
/// use collectd::protocol::{Credentials, SIGNATURE_OVERHEAD, sign};
///
/// let credentials = Credentials::new("admin", "admin").unwrap();
/// assert_eq!(sign(b"payload", &credentials).len(), SIGNATURE_OVERHEAD + "admin".len() + "payload".len());
/// ```
pub const SIGNATURE_OVERHEAD: usize = 36;
/// Bytes an encryption part adds beside the username and the payload.
///
/// ```
/// use collectd::protocol::{Credentials, ENCRYPTION_OVERHEAD, encrypt_with_iv};
///
/// let credentials = Credentials::new("admin", "admin").unwrap();
/// let encrypted = encrypt_with_iv(b"payload", &credentials, [0; 16]);
/// assert_eq!(encrypted.len(), ENCRYPTION_OVERHEAD + "admin".len() + "payload".len());
/// ```
pub const ENCRYPTION_OVERHEAD: usize = 42;
/// The longest username collectd sends in a signed datagram.
///
/// ```
/// use collectd::protocol::{Credentials, MAX_ENCRYPT_USERNAME, MAX_SIGN_USERNAME};
///
/// assert_eq!(MAX_SIGN_USERNAME, 70);
/// // Credentials work for both, so they keep to the smaller limit.
/// assert!(MAX_ENCRYPT_USERNAME < MAX_SIGN_USERNAME);
/// assert!(Credentials::new("u".repeat(MAX_SIGN_USERNAME), "pw").is_err());
/// ```
pub const MAX_SIGN_USERNAME: usize = 70;
/// The longest username collectd sends in an encrypted datagram.
///
/// ```
/// use collectd::protocol::{Credentials, MAX_ENCRYPT_USERNAME};
///
/// assert_eq!(MAX_ENCRYPT_USERNAME, 64);
/// assert!(Credentials::new("u".repeat(MAX_ENCRYPT_USERNAME), "pw").is_ok());
/// assert!(Credentials::new("u".repeat(MAX_ENCRYPT_USERNAME + 1), "pw").is_err());
/// ```
pub const MAX_ENCRYPT_USERNAME: usize = 64;

/// A receiver's `SecurityLevel`: what it requires of the datagrams it accepts.
///
/// ```
/// use collectd::protocol::SecurityLevel;
///
/// assert_eq!(SecurityLevel::default(), SecurityLevel::None);
/// assert_eq!(SecurityLevel::parse("Sign"), Some(SecurityLevel::Sign));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SecurityLevel {
    /// Accept everything (signatures are checked, encrypted parts decrypted, when users are known).
    #[default]
    None,
    /// Accept only signed or encrypted parts.
    Sign,
    /// Accept only encrypted parts.
    Encrypt,
}

impl SecurityLevel {
    /// Parses `none`, `sign` or `encrypt`, in any case, as collectd's configuration does.
    ///
    /// ```
    /// use collectd::protocol::SecurityLevel;
    ///
    /// assert_eq!(SecurityLevel::parse("ENCRYPT"), Some(SecurityLevel::Encrypt));
    /// assert_eq!(SecurityLevel::parse("none"), Some(SecurityLevel::None));
    /// assert_eq!(SecurityLevel::parse("strict"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(SecurityLevel::None),
            "sign" => Some(SecurityLevel::Sign),
            "encrypt" => Some(SecurityLevel::Encrypt),
            _ => None,
        }
    }
}

/// A username and password for signing or encrypting datagrams.
///
/// ```
/// use collectd::protocol::Credentials;
///
/// let creds = Credentials::new("admin", "admin").unwrap();
/// assert_eq!(creds.username(), "admin");
/// assert!(Credentials::new("", "x").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Checks the names collectd would refuse: an empty username, a username over 64 bytes
    /// (collectd's limit for encryption; 70 for signing), and a NUL in either.
    ///
    /// ```
    /// use collectd::protocol::{Credentials, CredentialsError};
    ///
    /// assert!(Credentials::new("admin", "secret").is_ok());
    /// assert_eq!(Credentials::new("", "secret"), Err(CredentialsError::EmptyUsername));
    /// assert_eq!(Credentials::new("admin", "se\0cret"), Err(CredentialsError::NulInPassword));
    /// ```
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Result<Self, CredentialsError> {
        let username = username.into();
        let password = password.into();
        if username.is_empty() {
            return Err(CredentialsError::EmptyUsername);
        }
        if username.len() > MAX_ENCRYPT_USERNAME {
            return Err(CredentialsError::UsernameTooLong { len: username.len() });
        }
        if username.contains('\0') {
            return Err(CredentialsError::NulInUsername);
        }
        if password.contains('\0') {
            return Err(CredentialsError::NulInPassword);
        }
        Ok(Credentials { username, password })
    }

    /// The username.
    ///
    /// ```
    /// let credentials = collectd::protocol::Credentials::new("admin", "secret").unwrap();
    /// assert_eq!(credentials.username(), "admin");
    /// ```
    pub fn username(&self) -> &str {
        &self.username
    }

    fn password(&self) -> &[u8] {
        self.password.as_bytes()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<hidden>").finish()
    }
}

/// Why a username or password cannot be used.
///
/// ```
/// use collectd::protocol::{Credentials, CredentialsError};
///
/// let error = Credentials::new("u".repeat(65), "pw").unwrap_err();
/// assert_eq!(error, CredentialsError::UsernameTooLong { len: 65 });
/// assert_eq!(error.to_string(), "the username is 65 bytes long; collectd allows at most 64");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsError {
    /// collectd refuses an empty username.
    EmptyUsername,
    /// collectd sends usernames of at most 64 bytes.
    UsernameTooLong {
        /// The username's length in bytes.
        len: usize,
    },
    /// A NUL would cut the username short on the receiver.
    NulInUsername,
    /// A NUL would cut the password short on the receiver.
    NulInPassword,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::EmptyUsername => f.write_str("the username is empty"),
            CredentialsError::UsernameTooLong { len } => {
                write!(f, "the username is {len} bytes long; collectd allows at most {MAX_ENCRYPT_USERNAME}")
            }
            CredentialsError::NulInUsername => f.write_str("the username contains a NUL byte"),
            CredentialsError::NulInPassword => f.write_str("the password contains a NUL byte"),
        }
    }
}

impl std::error::Error for CredentialsError {}

/// How a writer protects the datagrams it seals.
///
/// ```
/// use collectd::protocol::{Credentials, Security, WriterOptions};
///
/// let credentials = Credentials::new("admin", "secret").unwrap();
/// let options = WriterOptions::default().security(Security::Encrypt(credentials));
/// assert!(matches!(options.get_security(), Security::Encrypt(c) if c.username() == "admin"));
/// assert_eq!(Security::default(), Security::None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Security {
    /// Plain datagrams.
    #[default]
    None,
    /// Signed with HMAC-SHA-256.
    Sign(Credentials),
    /// Encrypted with AES-256-OFB.
    Encrypt(Credentials),
}

impl Security {
    /// The bytes sealing adds to a datagram.
    ///
    /// ```
    /// use collectd::protocol::{Credentials, ENCRYPTION_OVERHEAD, SIGNATURE_OVERHEAD, Security};
    ///
    /// let credentials = Credentials::new("admin", "secret").unwrap();
    /// assert_eq!(Security::None.overhead(), 0);
    /// assert_eq!(Security::Sign(credentials.clone()).overhead(), SIGNATURE_OVERHEAD + 5);
    /// assert_eq!(Security::Encrypt(credentials).overhead(), ENCRYPTION_OVERHEAD + 5);
    /// ```
    pub fn overhead(&self) -> usize {
        match self {
            Security::None => 0,
            Security::Sign(c) => SIGNATURE_OVERHEAD + c.username.len(),
            Security::Encrypt(c) => ENCRYPTION_OVERHEAD + c.username.len(),
        }
    }
}

fn hmac_sha256(password: &[u8], username: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(password).expect("HMAC takes keys of any length");
    mac.update(username);
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// Wraps `payload` in a signature part, as a collectd client with `SecurityLevel Sign` does.
///
/// ```
/// use collectd::protocol::{sign, Credentials};
///
/// let creds = Credentials::new("admin", "admin").unwrap();
/// let signed = sign(b"collectd", &creds);
/// assert_eq!(&signed[..4], &[0x02, 0x00, 0x00, 0x29]);
/// assert!(signed.ends_with(b"admincollectd"));
/// ```
pub fn sign(payload: &[u8], credentials: &Credentials) -> Vec<u8> {
    let user = credentials.username.as_bytes();
    let part_len = SIGNATURE_OVERHEAD + user.len();
    let mut out = Vec::with_capacity(part_len + payload.len());
    out.extend_from_slice(&part::SIGNATURE.to_be_bytes());
    out.extend_from_slice(&(part_len as u16).to_be_bytes());
    out.extend_from_slice(&hmac_sha256(credentials.password(), user, payload));
    out.extend_from_slice(user);
    out.extend_from_slice(payload);
    out
}

/// Wraps `payload` in an encryption part with the given IV: for test vectors only, so
/// hidden from the documentation. Use [`encrypt`]: reusing an IV with OFB reveals the
/// plaintext.
///
/// Panics when the result would exceed a datagram's 65535 bytes.
///
/// ```
/// use collectd::protocol::{Credentials, encrypt_with_iv, part};
///
/// let credentials = Credentials::new("admin", "admin").unwrap();
/// let a = encrypt_with_iv(b"collectd", &credentials, [7; 16]);
/// assert_eq!(a, encrypt_with_iv(b"collectd", &credentials, [7; 16]), "the same IV gives the same bytes");
/// assert_eq!(a[..2], part::ENCRYPTION.to_be_bytes());
/// ```
#[doc(hidden)]
pub fn encrypt_with_iv(payload: &[u8], credentials: &Credentials, iv: [u8; 16]) -> Vec<u8> {
    let user = credentials.username.as_bytes();
    let part_len = ENCRYPTION_OVERHEAD + user.len() + payload.len();
    let part_len16 = u16::try_from(part_len).expect("an encrypted datagram fits in 65535 bytes");
    let mut out = Vec::with_capacity(part_len);
    out.extend_from_slice(&part::ENCRYPTION.to_be_bytes());
    out.extend_from_slice(&part_len16.to_be_bytes());
    out.extend_from_slice(&(user.len() as u16).to_be_bytes());
    out.extend_from_slice(user);
    out.extend_from_slice(&iv);
    let secret_start = out.len();
    out.extend_from_slice(&Sha1::digest(payload));
    out.extend_from_slice(payload);
    let key: [u8; 32] = Sha256::digest(credentials.password()).into();
    Aes256Ofb::new(&key.into(), &iv.into()).apply_keystream(&mut out[secret_start..]);
    out
}

/// Wraps `payload` in an encryption part with a fresh random IV from the operating system.
///
/// ```
/// use collectd::protocol::{encrypt, Credentials};
///
/// let creds = Credentials::new("admin", "admin").unwrap();
/// let a = encrypt(b"collectd", &creds).unwrap();
/// let b = encrypt(b"collectd", &creds).unwrap();
/// assert_eq!(a.len(), 42 + 5 + 8);
/// assert_ne!(a, b, "every datagram gets its own IV");
/// ```
pub fn encrypt(payload: &[u8], credentials: &Credentials) -> Result<Vec<u8>, RandomError> {
    let mut iv = [0u8; 16];
    getrandom::fill(&mut iv).map_err(|cause| RandomError { cause })?;
    Ok(encrypt_with_iv(payload, credentials, iv))
}

/// The operating system could not give the random bytes of an encryption IV; see [`encrypt`].
///
/// ```
/// fn describe(error: &collectd::protocol::RandomError) -> String {
///     error.to_string() // "no random bytes for an encryption IV: ..."
/// }
/// # let _ = describe;
/// ```
#[derive(Debug)]
pub struct RandomError {
    cause: getrandom::Error,
}

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no random bytes for an encryption IV: {}", self.cause)
    }
}

impl std::error::Error for RandomError {}

/// Verifies, in constant time, a MAC over `covered` (the username followed by the payload).
pub(crate) fn verify_signature(password: &[u8], covered: &[u8], mac: &[u8]) -> bool {
    let mut check = HmacSha256::new_from_slice(password).expect("HMAC takes keys of any length");
    check.update(covered);
    check.verify_slice(mac).is_ok()
}

/// Decrypts `secret` (SHA-1 ‖ payload, encrypted) in place; true when the SHA-1 matches.
pub(crate) fn decrypt_in_place(password: &[u8], iv: &[u8; 16], secret: &mut [u8]) -> bool {
    let key: [u8; 32] = Sha256::digest(password).into();
    Aes256Ofb::new(&key.into(), iv.into()).apply_keystream(secret);
    if secret.len() < 20 {
        return false;
    }
    let (hash, payload) = secret.split_at(20);
    Sha1::digest(payload).as_slice().ct_eq(hash).into()
}

/// Users and passwords, read from a file in collectd's AuthFile format.
///
/// The rules are exactly those of collectd's `fbh_read_file`:
/// - lines are read as by `fgets` into a 4096-byte buffer, so a line over 4095 bytes
///   continues as a new line; a NUL byte ends the line;
/// - trailing `\r` and `\n` are removed; leading whitespace is skipped;
/// - blank lines and lines starting with `#` are ignored, and so are lines without `:`;
/// - the user is everything before the first `:`, trailing spaces included;
/// - the password is what follows, with leading whitespace skipped and trailing
///   whitespace kept; a line with an empty password is ignored;
/// - when a user appears twice, the first line wins.
///
/// ```
/// use collectd::protocol::AuthFile;
///
/// let users = AuthFile::parse(b"# comment\nalice: secret\nbob:   with spaces  \r\n");
/// assert_eq!(users.password(b"alice"), Some(&b"secret"[..]));
/// assert_eq!(users.password(b"bob"), Some(&b"with spaces  "[..]));
/// assert_eq!(users.password(b"carol"), None);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthFile {
    users: HashMap<Vec<u8>, Vec<u8>>,
}

/// collectd reads the file with `fgets` into a buffer of this size.
const FGETS_BUFFER: usize = 4096;

fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

impl AuthFile {
    /// Parses the contents of an AuthFile.
    ///
    /// ```
    /// use collectd::protocol::AuthFile;
    ///
    /// let users = AuthFile::parse(b"alice: secret\n# bob: hidden\ncarol:\n");
    /// assert_eq!(users.len(), 1); // a comment, and a user without a password
    /// assert_eq!(users.password(b"alice"), Some(&b"secret"[..]));
    /// ```
    pub fn parse(contents: &[u8]) -> Self {
        let mut users = HashMap::new();
        let mut rest = contents;
        while !rest.is_empty() {
            // One fgets call: up to and including '\n', at most 4095 bytes.
            let limit = rest.len().min(FGETS_BUFFER - 1);
            let take = rest[..limit].iter().position(|&b| b == b'\n').map_or(limit, |i| i + 1);
            let (chunk, next) = rest.split_at(take);
            rest = next;
            // strlen stops at the first NUL.
            let mut line = chunk.split(|&b| b == 0).next().unwrap_or(&[]);
            while let [head @ .., b'\n' | b'\r'] = line {
                line = head;
            }
            let start = line.iter().position(|&b| !is_c_space(b)).unwrap_or(line.len());
            let line = &line[start..];
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let user = &line[..colon];
            let value = &line[colon + 1..];
            let value_start = value.iter().position(|&b| !is_c_space(b)).unwrap_or(value.len());
            let password = &value[value_start..];
            if password.is_empty() {
                continue;
            }
            users.entry(user.to_vec()).or_insert_with(|| password.to_vec());
        }
        AuthFile { users }
    }

    /// Reads and parses an AuthFile. (collectd re-reads the file when its modification
    /// time changes; a long-running receiver should do the same.)
    ///
    /// ```
    /// use collectd::protocol::AuthFile;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("passwd");
    /// std::fs::write(&path, "admin: secret\n").unwrap();
    /// let users = AuthFile::read(&path).unwrap();
    /// assert_eq!(users.password(b"admin"), Some(&b"secret"[..]));
    /// assert!(AuthFile::read(dir.path().join("missing")).is_err());
    /// ```
    pub fn read(path: impl AsRef<Path>) -> std::io::Result<Self> {
        Ok(AuthFile::parse(&std::fs::read(path)?))
    }

    /// The password of a user, if the file has one.
    ///
    /// ```
    /// let users = collectd::protocol::AuthFile::parse(b"admin: secret\n");
    /// assert_eq!(users.password(b"admin"), Some(&b"secret"[..]));
    /// assert_eq!(users.password(b"root"), None);
    /// ```
    pub fn password(&self, username: &[u8]) -> Option<&[u8]> {
        self.users.get(username).map(Vec::as_slice)
    }

    /// The number of users.
    ///
    /// ```
    /// let users = collectd::protocol::AuthFile::parse(b"alice: a\nbob: b\nalice: again\n");
    /// assert_eq!(users.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when the file holds no user.
    ///
    /// ```
    /// use collectd::protocol::AuthFile;
    ///
    /// assert!(AuthFile::parse(b"# no users yet\n").is_empty());
    /// assert!(!AuthFile::parse(b"admin: secret\n").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl fmt::Debug for AuthFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<String> = self.users.keys().map(|u| String::from_utf8_lossy(u).into_owned()).collect();
        names.sort();
        f.debug_struct("AuthFile").field("users", &names).finish()
    }
}

/// What a receiver requires, and whom it knows: collectd's `<Listen>` block.
///
/// ```
/// use collectd::protocol::{AuthFile, ReceiveSecurity, SecurityLevel};
///
/// let users = AuthFile::parse(b"admin: admin\n");
/// let security = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
/// assert_eq!(security.level(), SecurityLevel::Sign);
/// // Like collectd, a level above None without users is refused.
/// assert!(ReceiveSecurity::new(SecurityLevel::Encrypt, None).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ReceiveSecurity<'u> {
    level: SecurityLevel,
    users: Option<&'u AuthFile>,
}

/// A receiver configuration collectd would refuse.
///
/// ```
/// use collectd::protocol::{MissingAuthFile, ReceiveSecurity, SecurityLevel};
///
/// let error = ReceiveSecurity::new(SecurityLevel::Sign, None).unwrap_err();
/// assert_eq!(error, MissingAuthFile { level: SecurityLevel::Sign });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingAuthFile {
    /// The level that needs an AuthFile.
    pub level: SecurityLevel,
}

impl fmt::Display for MissingAuthFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "security level {:?} needs an AuthFile with the users it accepts", self.level)
    }
}

impl std::error::Error for MissingAuthFile {}

impl<'u> ReceiveSecurity<'u> {
    /// Accepts everything; signed parts are accepted unverified, encrypted parts are refused.
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, SecurityLevel};
    ///
    /// let security = ReceiveSecurity::none();
    /// assert_eq!(security.level(), SecurityLevel::None);
    /// assert!(security.users().is_none());
    /// ```
    pub const fn none() -> Self {
        ReceiveSecurity { level: SecurityLevel::None, users: None }
    }

    /// A level and the users it verifies; levels above `None` need users.
    ///
    /// ```
    /// use collectd::protocol::{AuthFile, ReceiveSecurity, SecurityLevel};
    ///
    /// let users = AuthFile::parse(b"admin: secret\n");
    /// assert!(ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).is_ok());
    /// assert!(ReceiveSecurity::new(SecurityLevel::Encrypt, None).is_err());
    /// assert!(ReceiveSecurity::new(SecurityLevel::None, None).is_ok());
    /// ```
    pub fn new(level: SecurityLevel, users: Option<&'u AuthFile>) -> Result<Self, MissingAuthFile> {
        if level != SecurityLevel::None && users.is_none() {
            return Err(MissingAuthFile { level });
        }
        Ok(ReceiveSecurity { level, users })
    }

    /// The level.
    ///
    /// ```
    /// use collectd::protocol::{AuthFile, ReceiveSecurity, SecurityLevel};
    ///
    /// let users = AuthFile::parse(b"admin: secret\n");
    /// let security = ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap();
    /// assert_eq!(security.level(), SecurityLevel::Encrypt);
    /// ```
    pub fn level(&self) -> SecurityLevel {
        self.level
    }

    /// The users, if an AuthFile was given.
    ///
    /// ```
    /// use collectd::protocol::{AuthFile, ReceiveSecurity, SecurityLevel};
    ///
    /// let users = AuthFile::parse(b"admin: secret\n");
    /// let security = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
    /// assert_eq!(security.users().unwrap().password(b"admin"), Some(&b"secret"[..]));
    /// ```
    pub fn users(&self) -> Option<&'u AuthFile> {
        self.users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authfile_follows_collectds_rules() {
        let text = b"  # indented comment\n\
            \n\
            nocolon\n\
            empty:   \n\
            bob:   secret with spaces  \n\
            bob: second wins not\n\
            key with space : pw\n\
            :emptyuser\n\
            tab:\tx\t\r\n\
            crlf:pw\r\r\n\
            nul:ab\0cd\n";
        let users = AuthFile::parse(text);
        assert_eq!(users.password(b"bob"), Some(&b"secret with spaces  "[..]));
        assert_eq!(users.password(b"key with space "), Some(&b"pw"[..]));
        assert_eq!(users.password(b""), Some(&b"emptyuser"[..]));
        assert_eq!(users.password(b"tab"), Some(&b"x\t"[..]));
        assert_eq!(users.password(b"crlf"), Some(&b"pw"[..]));
        assert_eq!(users.password(b"nul"), Some(&b"ab"[..]));
        assert_eq!(users.password(b"empty"), None);
        assert_eq!(users.password(b"nocolon"), None);
        assert_eq!(users.len(), 6);
    }

    #[test]
    fn authfile_long_lines_split_like_fgets() {
        let mut text = vec![b'a'; 4095];
        text.extend_from_slice(b"u:p\n");
        let users = AuthFile::parse(&text);
        assert_eq!(users.password(b"u"), Some(&b"p"[..]));
        assert_eq!(users.len(), 1);
    }

    #[test]
    fn hmac_vector_e() {
        let mac = hmac_sha256(b"admin", b"admin", b"collectd");
        assert_eq!(hex(&mac), "cda59a37b081c231242a6dbdfb44dbd7412af42983dea51196d2e93021aec545");
        assert!(verify_signature(b"admin", b"admincollectd", &mac));
        assert!(!verify_signature(b"admin", b"admincollectD", &mac));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
