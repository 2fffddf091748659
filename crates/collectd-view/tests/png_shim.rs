//! The rrdtool workers' PNG shim: the same pixels as plain rrdtool; `graph -o` writes
//! other bytes than a plain `rrdtool graph` (the shim is at work); when the temporary directory is mounted
//! `noexec`, so that the dynamic loader refuses the shim, the pool notices and writes
//! exactly the plain bytes; a shim removed behind the pool's back (a tmp cleaner) is
//! written again before the next worker starts.
//!
//! The `noexec` cases mount a small tmpfs, which needs root (CI runs as root); elsewhere
//! they are skipped with a message.

use testkit::fixture as support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use collectd_rrd::graph::Graph;
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_rrd::select::{self, GraphOptions, PluginSelection, Request};

/// A tmpfs mounted `noexec`, unmounted on drop.
struct NoexecMount(PathBuf);

impl NoexecMount {
    fn new(at: &Path) -> Option<NoexecMount> {
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", "noexec,size=4m", "tmpfs"]).arg(at).output();
        match status {
            Ok(out) if out.status.success() => Some(NoexecMount(at.to_owned())),
            Ok(out) => {
                eprintln!("skipped the noexec case: mount failed: {}", String::from_utf8_lossy(&out.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped the noexec case: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for NoexecMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// How a PNG was compressed: the zlib header's level class (0 fastest, 1 fast, 2 default,
/// 3 best) and the filter type of every row.
fn png_compression(data: &[u8]) -> (u8, Vec<u8>) {
    assert_eq!(&data[..8], b"\x89PNG\r\n\x1a\n");
    let (mut at, mut idat, mut header) = (8, Vec::new(), None);
    while at + 8 <= data.len() {
        let length = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let (kind, body) = (&data[at + 4..at + 8], &data[at + 8..at + 8 + length]);
        match kind {
            b"IHDR" => header = Some((u32::from_be_bytes(body[..4].try_into().unwrap()), body[8], body[9])),
            b"IDAT" => idat.extend_from_slice(body),
            _ => {}
        }
        at += 12 + length;
    }
    let (width, bit_depth, color_type) = header.expect("an IHDR chunk");
    let channels = match color_type {
        0 | 3 => 1,
        4 => 2,
        2 => 3,
        6 => 4,
        other => panic!("colour type {other}"),
    };
    let row = 1 + (width as usize * channels * bit_depth as usize).div_ceil(8);
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("a zlib stream");
    assert_eq!(raw.len() % row, 0);
    (idat[1] >> 6, raw.chunks(row).map(|r| r[0]).collect())
}

fn cli(args: &[&str], tmpdir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collectd-view")).args(args).env("TMPDIR", tmpdir).output().unwrap()
}

#[test]
fn graph_images_use_the_shim_unless_the_loader_refuses_it() {
    if !support::require_rrdtool() {
        return;
    }
    let d = support::DataDir::build();
    let work = tempfile::tempdir().unwrap();
    let (start, end) = ((d.t0 + 20 * d.step as i64).to_string(), (d.t0 + 200 * d.step as i64).to_string());
    let dir = d.dir.path().to_str().unwrap();
    let graph = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["graph", "--data-dir", dir, "--host", "h1", "--category", "coin_stats", "--stat", "flips"];
        args.extend(["--start", &start, "--end", &end, "--width", "400", "--height", "150"]);
        args.extend(extra);
        args.into_iter().map(str::to_owned).collect()
    };
    let run = |extra: &[&str], tmpdir: &Path| {
        let args = graph(extra);
        let out = cli(&args.iter().map(String::as_str).collect::<Vec<_>>(), tmpdir);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    };

    // The plain image: the printed command, run by a plain rrdtool in a shell.
    let plain_png = work.path().join("plain.png");
    let printed = String::from_utf8(run(&["--print-command"], work.path()).stdout).unwrap();
    let command =
        printed.trim().replacen("rrdtool graph graph.png", &format!("rrdtool graph {}", plain_png.display()), 1);
    let sh = Command::new("sh").arg("-c").arg(&command).output().unwrap();
    assert!(sh.status.success(), "{command}: {}", String::from_utf8_lossy(&sh.stderr));
    let plain = std::fs::read(&plain_png).unwrap();

    let shimmed_png = work.path().join("shimmed.png");
    run(&["-o", shimmed_png.to_str().unwrap()], work.path());
    let shimmed = std::fs::read(&shimmed_png).unwrap();
    assert_ne!(shimmed, plain, "the shim did not change the encoding");
    // Plain libpng: zlib's default level and its filter search (some rows filtered);
    // through the shim: level 3 (zlib's "fast" class) and no row filtered.
    let (plain_level, plain_filters) = png_compression(&plain);
    assert_eq!(plain_level, 2);
    assert!(plain_filters.iter().any(|&f| f != 0), "{plain_filters:?}");
    let (level, filters) = png_compression(&shimmed);
    assert_eq!(level, 1);
    assert!(filters.iter().all(|&f| f == 0), "{filters:?}");

    let noexec_dir = work.path().join("noexec");
    std::fs::create_dir(&noexec_dir).unwrap();
    let Some(_mount) = NoexecMount::new(&noexec_dir) else { return };
    let refused_png = work.path().join("refused.png");
    let out = run(&["-o", refused_png.to_str().unwrap()], &noexec_dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("ld.so") && !stderr.contains("preload"), "{stderr}");
    assert_eq!(std::fs::read(&refused_png).unwrap(), plain, "a refused shim must leave plain rrdtool");
}

/// Graphs of three kinds over a fixed range, so that every pool draws the same images:
/// a stat with specifics, a category, and an ordinary plugin's type.
fn fixed_graphs(d: &support::DataDir) -> Vec<Graph> {
    let index = Arc::new(Index::open(d.dir.path()).unwrap());
    let step = d.step as i64;
    let options = GraphOptions {
        start: (d.t0 + 20 * step).to_string(),
        end: (d.t0 + 200 * step).to_string(),
        width: 400,
        height: 150,
        ..GraphOptions::default()
    };
    let lookup = collectd_rrd::ds_lookup(&index, None);
    let h1 = || vec!["h1".to_owned()];
    let requests = [
        Request {
            hosts: h1(),
            categories: vec!["coin_stats".into()],
            stats: vec!["flips".into()],
            ..Request::default()
        },
        Request { hosts: h1(), categories: vec!["coin_stats".into()], ..Request::default() },
        Request {
            hosts: h1(),
            plugins: vec![PluginSelection {
                plugin: "load".into(),
                type_: "load".into(),
                ..PluginSelection::default()
            }],
            ..Request::default()
        },
    ];
    requests.iter().flat_map(|r| select::plan(&index.snapshot(), r, &options, &lookup).unwrap()).collect()
}

/// Width, height and RGBA pixels of a PNG.
fn png_pixels(data: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(data);
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(frame.buffer_size());
    (frame.width, frame.height, pixels)
}

/// The shim changes how rows are compressed, never what they show.
#[test]
fn the_shim_keeps_every_pixel() {
    if !support::require_rrdtool() {
        return;
    }
    let d = support::DataDir::build();
    let shimmed = Pool::new(PoolConfig { png_zlib_level: Some(3), ..PoolConfig::default() }).unwrap();
    let plain = Pool::new(PoolConfig { png_zlib_level: None, ..PoolConfig::default() }).unwrap();
    assert!(shimmed.png_shim_loaded(), "the shim was built and installed");
    assert!(!plain.png_shim_loaded());
    let graphs = fixed_graphs(&d);
    assert!(graphs.len() >= 3);
    for graph in &graphs {
        let (fast, slow) = (shimmed.render(graph).unwrap(), plain.render(graph).unwrap());
        assert_ne!(fast.data, slow.data, "{}: the shim did not change the encoding", graph.title);
        let (fast_pixels, slow_pixels) = (png_pixels(&fast.data), png_pixels(&slow.data));
        assert_eq!((fast_pixels.0, fast_pixels.1), (fast.geometry.image_width, fast.geometry.image_height));
        assert!(fast_pixels == slow_pixels, "{}: pixels differ", graph.title);
        // Unfiltered rows at level 3 stay about as small as libpng's default search at 6.
        let (fast_len, slow_len) = (fast.data.len(), slow.data.len());
        assert!(fast_len < slow_len * 2, "{}: {fast_len} vs {slow_len} bytes", graph.title);
    }
    assert!(shimmed.png_shim_loaded(), "the workers loaded it");
}

fn shim_dirs(parent: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("collectd-view-png-"))
        .collect()
}

#[test]
fn the_pool_notices_a_refused_shim_and_rewrites_a_removed_one() {
    if !support::require_rrdtool() {
        return;
    }
    let d = support::DataDir::build();
    let graph = fixed_graphs(&d).remove(0);
    let plain_pool = Pool::new(PoolConfig { png_zlib_level: None, ..PoolConfig::default() }).unwrap();
    let plain = plain_pool.render(&graph).unwrap().data;
    assert!(!plain_pool.png_shim_loaded());

    // Removed behind the pool's back: every command on a fresh worker, so the next one
    // needs the library again.
    let shim_parent = tempfile::tempdir().unwrap();
    let config = PoolConfig {
        png_shim_dir: Some(shim_parent.path().to_owned()),
        max_commands_per_worker: 1,
        workers: 1,
        ..PoolConfig::default()
    };
    let pool = Pool::new(config.clone()).unwrap();
    assert_ne!(pool.render(&graph).unwrap().data, plain, "the shim is at work");
    assert!(pool.png_shim_loaded());
    let [first] = &shim_dirs(shim_parent.path())[..] else { panic!("one shim directory") };
    std::fs::remove_dir_all(first).unwrap();
    std::fs::create_dir(first).unwrap(); // what somebody else could put in its place
    std::fs::write(first.join("png_encoding.so"), b"not the shim").unwrap();
    assert_ne!(pool.render(&graph).unwrap().data, plain, "a fresh copy of the shim is at work");
    assert!(pool.png_shim_loaded());
    assert_eq!(shim_dirs(shim_parent.path()).len(), 2, "a new directory beside the replaced one");
    assert!(pool.spawned() >= 2);

    // Refused by the loader.
    let noexec_dir = tempfile::tempdir().unwrap();
    let Some(_mount) = NoexecMount::new(noexec_dir.path()) else { return };
    let pool = Pool::new(PoolConfig { png_shim_dir: Some(noexec_dir.path().to_owned()), ..config }).unwrap();
    assert!(pool.png_shim_loaded(), "installed; not yet known to be refused");
    assert_eq!(pool.render(&graph).unwrap().data, plain);
    assert!(!pool.png_shim_loaded(), "the first worker's refusal was noticed");
    assert_eq!(pool.render(&graph).unwrap().data, plain);
}
