//! The fence as it stood for this run: layers, environment names, limits.

use crate::escape::html as h;
use crate::html::Tab;
use crate::model::RunReport;
use crate::text::thousands;

pub struct Fence;

impl Tab for Fence {
    fn id(&self) -> &'static str {
        "fence"
    }

    fn title(&self, r: &RunReport) -> String {
        let active = r.fence.iter().filter(|l| l.active).count();
        format!("Fence ({active}/{})", r.fence.len())
    }

    fn render(&self, r: &RunReport) -> Option<String> {
        if r.fence.is_empty() {
            return None;
        }
        let mut out = String::from(
            "<table class=\"grid\"><thead><tr><th>Layer</th><th>State</th><th>Detail</th></tr></thead><tbody>\n",
        );
        for l in &r.fence {
            let (class, word) = if l.active { ("ok", "active") } else { ("warn", "not active") };
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td><span class=\"pill {class}\">{word}</span></td><td>{}</td></tr>\n",
                h(&l.layer),
                h(&l.detail)
            ));
        }
        out.push_str("</tbody></table>\n<h3>Environment</h3>\n<p class=\"muted\">Names only: ringfence never records values.</p>\n");
        out.push_str(&format!(
            "<dl class=\"kv\"><dt>Dropped ({})</dt><dd>{}</dd><dt>Passed ({})</dt><dd>{}</dd></dl>\n",
            r.env.dropped.len(),
            chips(&r.env.dropped),
            r.env.passed.len(),
            chips(&r.env.passed)
        ));
        let limit = |v: Option<u64>, unit: &str| {
            v.map_or_else(|| "none".into(), |n| format!("{}{unit}", thousands(n)))
        };
        out.push_str(&format!(
            "<h3>Limits</h3>\n<dl class=\"kv\"><dt>Processes</dt><dd>{}</dd><dt>Wall clock</dt><dd>{}</dd></dl>\n",
            limit(r.limits.pids, ""),
            limit(r.limits.wall_secs, " s")
        ));
        Some(out)
    }
}

pub fn chips(names: &[String]) -> String {
    if names.is_empty() {
        return "<span class=\"muted\">none</span>".into();
    }
    names.iter().map(|n| format!("<code class=\"chip\">{}</code>", h(n))).collect::<Vec<_>>().join(" ")
}
