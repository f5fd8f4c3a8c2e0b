//! Connect and send attempts the kernel hook saw outside the proxy, at the end of the Network tab.

use super::actor_html;
use crate::escape::html as h;
use crate::model::{RunReport, ViolationVerdict};
use crate::text::{offset, thousands};

const MAX_ROWS: usize = 2_000;

pub fn table(r: &RunReport) -> String {
    let list = &r.network.attempts;
    if list.is_empty() {
        return String::new();
    }
    let total: u64 = list.iter().map(|a| a.count).sum();
    let mut out = format!(
        "<h3>Attempts outside the proxy <span class=\"count\">{} seen by the kernel</span></h3>\n<table class=\"grid\"><thead><tr>\
         <th>Process</th><th>Protocol</th><th>Destination</th><th class=\"right\">Count</th><th>Verdict</th><th>First</th>\
         </tr></thead><tbody>\n",
        thousands(total)
    );
    for a in list.iter().take(MAX_ROWS) {
        let hot = if a.violation { " class=\"row-violation\"" } else { "" };
        let pill = match (a.verdict, a.violation) {
            (ViolationVerdict::Blocked, _) => "<span class=\"pill bad strong\">blocked</span>",
            (ViolationVerdict::Allowed, true) => "<span class=\"pill warn strong\">flagged (audit)</span>",
            (ViolationVerdict::Allowed, false) => "<span class=\"pill ok\">allowed</span>",
        };
        let mut verdict = pill.to_string();
        if a.violation {
            let rules: Vec<String> = a.rules.iter().map(|rule| format!("<code>{}</code>", h(rule))).collect();
            verdict.push_str(&format!("<div class=\"small\">{}</div>", rules.join(" ")));
            if !a.reasons.is_empty() {
                verdict.push_str(&format!("<div class=\"small muted\">{}</div>", h(&a.reasons.join("; "))));
            }
        }
        out.push_str(&format!(
            "<tr{hot}><td>{}</td><td class=\"mono small\">{} {}</td><td><code class=\"host\">{}</code></td>\
             <td class=\"num right\">{}</td><td>{verdict}</td><td class=\"num\">{}</td></tr>\n",
            actor_html(r, &a.process),
            h(&a.protocol),
            h(&a.calls.join("/")),
            h(&crate::text::attempt_destination(&a.ip, a.port)),
            thousands(a.count),
            offset(a.first_offset_ms)
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}
