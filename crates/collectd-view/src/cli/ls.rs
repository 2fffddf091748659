//! `collectd-view ls`: hosts, plugins and files, with category / specific / stat for the
//! original module's files and the data sources of every file.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::PoolConfig;
use collectd_rrd::select;

use super::lazy_pool::LazyPool;

/// The options of `collectd-view ls`.
#[derive(clap::Args, Debug)]
pub struct LsArgs {
    /// collectd's DataDir.
    #[arg(long, default_value = super::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// The rrdtool program, run (`rrdtool info`) only for files whose header cannot be
    /// read directly.
    #[arg(long, default_value = "rrdtool")]
    pub rrdtool: String,
    /// A Prometheus-compatible database instead of the DataDir.
    #[command(flatten)]
    pub prom: super::prom::PromArgs,
}

/// `ls`: the tree, with each file's data sources read from its header or, for a header the
/// index cannot read itself, from `rrdtool info` (as the web interface does).
pub fn run(args: LsArgs) -> Result<()> {
    if let Some(source) = args.prom.source()? {
        use collectd_rrd::source::Source;
        print!("{}", source.list()?.render_tree());
        return Ok(());
    }
    let (data_dir, rrdtool) = (args.data_dir.as_path(), args.rrdtool.as_str());
    super::check_data_dir(data_dir)?;
    let index = Arc::new(Index::open(data_dir)?);
    // Only `rrdtool info` runs here: no PNG shim to install.
    let rrdtool = LazyPool::new(PoolConfig {
        program: rrdtool.into(),
        workers: 1,
        png_zlib_level: None,
        ..PoolConfig::default()
    });
    let lookup = collectd_rrd::ds_lookup_with(&index, || rrdtool.get().ok());
    print!("{}", select::tree::render(&index.snapshot(), &lookup));
    if let Some(Err(e)) = rrdtool.started() {
        log::warn!("{e}; data sources of unreadable headers are not shown");
    }
    Ok(())
}
