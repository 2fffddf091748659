//! The `ls` listing: the index as an indented tree, with category / stat / specific for
//! the original module's files and data sources for every file.

use std::fmt::Write;

use super::DsLookup;
use crate::index::{RrdFile, Snapshot};
use crate::naming;

fn ds_text(file: &RrdFile, ds_of: &DsLookup) -> String {
    match ds_of(file) {
        Ok(names) => format!("[{}]", names.join(", ")),
        // The message may quote the path, and with it a name from the network.
        Err(e) => format!("[data sources unreadable: {}]", naming::printable(&e.to_string())),
    }
}

/// The file name as the index shows it (escaped, see [`naming::display_name`]).
fn file_name(file: &RrdFile) -> String {
    format!("{}.rrd", naming::join_instance(&file.id.type_, file.id.type_instance.as_deref()))
}

/// Renders the whole snapshot as a tree (hosts, plugin directories, files). Names are the
/// index's, escaped ([`naming::display_name`]): the text is safe to print on a terminal.
pub fn render(snap: &Snapshot, ds_of: &DsLookup) -> String {
    let mut out = String::new();
    for host in snap.hosts.values() {
        let _ = writeln!(out, "{}", host.name);
        for dir in host.plugins.values() {
            match &dir.module {
                Some(module) => {
                    let _ = writeln!(out, "  {}  (original module)", dir.dir_name);
                    for (cname, cat) in &module.categories {
                        let _ = writeln!(out, "    category {cname}");
                        for (sname, stat) in &cat.stats {
                            let _ = writeln!(
                                out,
                                "      stat {sname}  ({} specific{})",
                                stat.specifics.len(),
                                if stat.specifics.len() == 1 { "" } else { "s" }
                            );
                            if let Some(base) = &stat.base {
                                let _ = writeln!(out, "        base  {}  {}", file_name(base), ds_text(base, ds_of));
                            }
                            for (sp, f) in &stat.specifics {
                                let _ = writeln!(out, "        specific {sp}  {}  {}", file_name(f), ds_text(f, ds_of));
                            }
                        }
                    }
                    for f in &module.unparsed {
                        let _ = writeln!(out, "    unparsed  {}  {}", file_name(f), ds_text(f, ds_of));
                    }
                }
                None => {
                    let inst = dir.instance.as_deref().map(|i| format!(", instance {i}")).unwrap_or_default();
                    let _ = writeln!(out, "  {}  (plugin {}{inst})", dir.dir_name, dir.plugin);
                    for f in dir.files.values() {
                        let ti = f.id.type_instance.as_deref().map(|i| format!(", instance {i}")).unwrap_or_default();
                        let _ = writeln!(out, "    {}  (type {}{ti})  {}", file_name(f), f.id.type_, ds_text(f, ds_of));
                    }
                }
            }
        }
    }
    out
}
