//! The listening options `dump` and `receive` share, and their errors phrased with the
//! flags the user typed (the library's own errors name no flag).

use std::path::PathBuf;
use std::time::Duration;

use collectd::protocol::SecurityLevel;
use collectd::server::{Auth, DEFAULT_RECEIVE_BUFFER, ListenError, Listener, parse_listen_addr};

/// The options of a listening subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct ListenArgs {
    /// Address to listen on: an IP address or host name, optionally with :PORT (25826 by
    /// default; an IPv6 address with a port goes in brackets). A multicast address (e.g.
    /// 239.192.74.66, ff18::efc0:4a42) joins the group.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// What datagrams must be: none (anything; signatures are checked when an auth file is
    /// given), sign (signed or encrypted) or encrypt (encrypted).
    #[arg(long, value_name = "LEVEL", default_value = "none", value_parser = parse_security_level)]
    pub security_level: SecurityLevel,
    /// collectd AuthFile (`user: password` lines) for verifying and decrypting; re-read
    /// when it changes. Required by sign and encrypt.
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// Network interface for joining a multicast group (collectd's `Interface`), e.g. lo.
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// Socket receive buffer to ask for, in bytes (the kernel may grant less: see
    /// net.core.rmem_max).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RECEIVE_BUFFER)]
    pub receive_buffer: usize,
}

fn parse_security_level(text: &str) -> Result<SecurityLevel, String> {
    SecurityLevel::parse(text).ok_or_else(|| format!("{text:?} is not one of none, sign, encrypt"))
}

impl ListenArgs {
    /// The security level and AuthFile, checked.
    pub fn auth(&self) -> anyhow::Result<Auth> {
        Auth::new(self.security_level, self.auth_file.as_deref()).map_err(flag_error)
    }

    /// Binds the socket and reads the AuthFile.
    pub fn open(&self, read_timeout: Duration) -> anyhow::Result<(Listener, Auth)> {
        let addr = parse_listen_addr(&self.listen).map_err(flag_error)?;
        let auth = self.auth()?;
        let listener =
            Listener::bind(addr, self.interface.as_deref(), self.receive_buffer, read_timeout).map_err(flag_error)?;
        Ok((listener, auth))
    }
}

/// The library's error, said with the flag that caused it.
pub fn flag_error(error: ListenError) -> anyhow::Error {
    let message = match &error {
        ListenError::BadAddress { text, reason } => format!("--listen {text:?}: {reason}"),
        ListenError::Socket { addr, action, source } => format!("--listen {addr}: cannot {action}: {source}"),
        ListenError::NoInterface { name, source } => {
            format!("--interface {name:?}: no such network interface ({source})")
        }
        ListenError::NeedsAuthFile { level } => format!(
            "--security-level {level}: needs --auth-file with the users it accepts (collectd refuses this socket too)"
        ),
        ListenError::AuthFile { path, source } => format!("--auth-file {}: {source}", path.display()),
        other => other.to_string(),
    };
    // The message already holds the library's words and the cause.
    anyhow::anyhow!(message)
}
