//! The typed commands run on the [`Pool`]: `graphv` (an image with its geometry), `xport`,
//! `lastupdate`, `info`, and the data sources `info` lists. Each builds its argv, runs it on
//! a worker and reads the reply into a type.

use std::collections::HashMap;
use std::path::Path;

use super::{Pool, RrdtoolError, Xport, xport};
use crate::graph::{Format, Graph, GraphError, Kind};

/// What `rrdtool lastupdate` tells: the time of the last update and, per data source, the
/// value written then (`None`: unknown).
pub type LastUpdate = (i64, Vec<(String, Option<f64>)>);

/// Where the plot is inside an image, and what it shows: enough to map a pixel to a
/// time and a value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Geometry {
    /// Left edge of the plot area, pixels from the image's left.
    pub graph_left: u32,
    /// Top edge of the plot area.
    pub graph_top: u32,
    /// Width of the plot area.
    pub graph_width: u32,
    /// Height of the plot area.
    pub graph_height: u32,
    /// Width of the whole image.
    pub image_width: u32,
    /// Height of the whole image.
    pub image_height: u32,
    /// Time at the plot's left edge (seconds since the epoch).
    pub start: i64,
    /// Time at the plot's right edge.
    pub end: i64,
    /// Value at the plot's bottom.
    pub value_min: f64,
    /// Value at the plot's top.
    pub value_max: f64,
}

/// A rendered graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The image bytes.
    pub data: Vec<u8>,
    /// Their format.
    pub format: Format,
    /// The plot's geometry.
    pub geometry: Geometry,
    /// Every `key = value` line of `graphv` (legend boxes, PRINT results, …).
    pub info: Vec<(String, String)>,
}

fn geometry(info: &[(String, String)]) -> Result<Geometry, String> {
    let map: HashMap<&str, &str> = info.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let int = |k: &str| -> Result<i64, String> {
        map.get(k).and_then(|v| v.trim().parse::<f64>().ok()).map(|v| v as i64).ok_or_else(|| format!("no {k}"))
    };
    let float = |k: &str| map.get(k).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(f64::NAN);
    let px = |k: &str| int(k).map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
    Ok(Geometry {
        graph_left: px("graph_left")?,
        graph_top: px("graph_top")?,
        graph_width: px("graph_width")?,
        graph_height: px("graph_height")?,
        image_width: px("image_width")?,
        image_height: px("image_height")?,
        start: int("graph_start")?,
        end: int("graph_end")?,
        value_min: float("value_min"),
        value_max: float("value_max"),
    })
}

impl Pool {
    /// Renders `graph` with `graphv -`, returning the image and its geometry.
    pub fn render(&self, graph: &Graph) -> Result<Image, RrdtoolError> {
        self.render_with(graph, &[])
    }

    /// Like [`Pool::render`], with `options` (e.g. `--color`, `--only-graph`) placed before
    /// the graph's own arguments: the argv is `graphv - OPTIONS… GRAPH-ARGS…`.
    pub fn render_with(&self, graph: &Graph, options: &[String]) -> Result<Image, RrdtoolError> {
        let graph = self.linked(graph)?;
        let mut args = vec!["graphv".to_owned(), "-".to_owned()];
        args.extend(options.iter().cloned());
        args.extend(graph.args()?);
        let reply = self.run(&args)?;
        let info = reply.info();
        let geometry = geometry(&info).map_err(|detail| RrdtoolError::Reply { command: "graphv".into(), detail })?;
        let data = reply
            .blobs
            .into_iter()
            .find(|(k, _)| k == "image")
            .map(|(_, b)| b)
            .ok_or_else(|| RrdtoolError::Reply { command: "graphv".into(), detail: "no image".into() })?;
        Ok(Image { data, format: graph.format, geometry, info })
    }

    /// Exports the values `graph` draws (see [`Graph::xport_args`]).
    pub fn xport(&self, graph: &Graph) -> Result<Xport, RrdtoolError> {
        let graph = self.linked(graph)?;
        let mut args = vec!["xport".to_owned()];
        args.extend(graph.xport_args()?);
        let reply = self.run(&args)?;
        Ok(xport::parse(&reply.text())?)
    }

    /// `graph` with each file rrdtool's pipe cannot carry (a name that is not UTF-8, or
    /// holds a line break, as collectd may store) replaced by a link to it with a plain
    /// name; `graph` itself when every file can be given as it is.
    ///
    /// ```no_run
    /// # fn f(pool: &collectd_rrd::rrdtool::Pool, graph: &collectd_rrd::graph::Graph) {
    /// let argv = pool.linked(graph).unwrap().args().unwrap();
    /// # }
    /// ```
    pub fn linked<'g>(&self, graph: &'g Graph) -> Result<std::borrow::Cow<'g, Graph>, RrdtoolError> {
        let total = |g: &'g Graph| match &g.kind {
            Kind::Stack { total: Some(total), .. } => Some(total),
            _ => None,
        };
        let mut files = graph.series.iter().chain(total(graph)).flat_map(|s| &s.sources).map(|src| &src.file);
        if files.all(|f| super::alias::pipe_safe(f)) {
            return Ok(std::borrow::Cow::Borrowed(graph));
        }
        let mut linked = graph.clone();
        let stack_total = match &mut linked.kind {
            Kind::Stack { total: Some(total), .. } => Some(total),
            _ => None,
        };
        for src in linked.series.iter_mut().chain(stack_total).flat_map(|s| &mut s.sources) {
            src.file = self.link_of(&src.file)?;
        }
        Ok(std::borrow::Cow::Owned(linked))
    }

    fn link_of(&self, file: &Path) -> Result<std::path::PathBuf, RrdtoolError> {
        self.rrdtool_path(file).map(std::borrow::Cow::into_owned).map_err(|e| {
            RrdtoolError::Graph(GraphError::Path(format!("{}: cannot link it for rrdtool: {e}", file.display())))
        })
    }

    /// `rrdtool COMMAND [--daemon ADDRESS] FILE`, the file linked when its name needs it.
    fn file_command(&self, command: &str, file: &Path) -> Result<super::Reply, RrdtoolError> {
        let file = self.link_of(file)?;
        let path = file.to_str().ok_or_else(|| RrdtoolError::Graph(GraphError::Path(file.display().to_string())))?;
        let mut args = vec![command.to_owned()];
        if let Some(d) = &self.config().daemon {
            args.push("--daemon".into());
            args.push(d.clone());
        }
        args.push(path.to_owned());
        self.run(&args)
    }

    /// The last values written to `file` (`rrdtool lastupdate`): the time and, per data
    /// source, its value (`None` for unknown).
    pub fn last_update(&self, file: &Path) -> Result<LastUpdate, RrdtoolError> {
        let text = self.file_command("lastupdate", file)?.text();
        parse_lastupdate(&text).ok_or_else(|| RrdtoolError::Reply {
            command: "lastupdate".into(),
            detail: format!("cannot read {text:?}"),
        })
    }

    /// `rrdtool info FILE` as key/value pairs (`ds[value].type` → `GAUGE`, …).
    pub fn info(&self, file: &Path) -> Result<Vec<(String, String)>, RrdtoolError> {
        Ok(self.file_command("info", file)?.info())
    }

    /// The data source names of `file`, from `rrdtool info` (the fallback when the index
    /// cannot read a header itself).
    pub fn data_sources(&self, file: &Path) -> Result<Vec<String>, RrdtoolError> {
        let mut names = Vec::new();
        for (k, _) in self.info(file)? {
            if let Some(rest) = k.strip_prefix("ds[")
                && let Some(name) = rest.strip_suffix("].index")
            {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }
}

/// Parses `rrdtool lastupdate` output: a line of DS names, a blank line, `TIME: V V…`.
fn parse_lastupdate(text: &str) -> Option<LastUpdate> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let names: Vec<&str> = lines.next()?.split_whitespace().collect();
    let (t, values) = lines.next()?.split_once(':')?;
    let values: Vec<Option<f64>> = values.split_whitespace().map(|v| v.parse::<f64>().ok()).collect();
    if values.len() != names.len() {
        return None;
    }
    Some((t.trim().parse().ok()?, names.into_iter().map(str::to_owned).zip(values).collect()))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lastupdate_output() {
        let (t, v) = parse_lastupdate(" shortterm midterm longterm\n\n1700000000: 0.5 U 2e3\n").unwrap();
        assert_eq!(t, 1_700_000_000);
        assert_eq!(
            v,
            [("shortterm".to_owned(), Some(0.5)), ("midterm".into(), None), ("longterm".into(), Some(2000.0))]
        );
        assert!(parse_lastupdate("garbage").is_none());
    }

    #[test]
    fn geometry_from_graphv() {
        let info: Vec<(String, String)> = [
            ("graph_left", "51"),
            ("graph_top", "15"),
            ("graph_width", "200"),
            ("graph_height", "100"),
            ("image_width", "281"),
            ("image_height", "141"),
            ("graph_start", "1795550079"),
            ("graph_end", "1795550379"),
            ("value_min", "1.0000000000e+00"),
            ("value_max", "2.0000000000e+01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let g = geometry(&info).unwrap();
        assert_eq!((g.graph_left, g.graph_width, g.image_height), (51, 200, 141));
        assert_eq!((g.start, g.end), (1795550079, 1795550379));
        assert_eq!((g.value_min, g.value_max), (1.0, 20.0));
        assert!(geometry(&info[1..]).is_err());
    }
}
