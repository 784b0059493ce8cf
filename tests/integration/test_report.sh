#!/usr/bin/env bash
#  The board report on a generated year (rh-bench-year: REPORT_N referrals, 5,000 by default,
#  across 7 local authorities, written through the broker's own audit code and signed by real
#  certificates): rhannu-audit report as JSON, CSV and HTML in English and Welsh, read back as a
#  board member would, in headless Chromium (the DOM's text: period, board, labels, every section
#  with something to show or saying in words that it has not; nothing wider than an A4 page),
#  and printed to PDF. A label holding < & , " goes through the HTML and the CSV unchanged.
source "$(dirname "$0")/lib.sh"
n=${REPORT_N:-5000}
label='Gwent <Police> & "Partners", Cymru'
board='Gwent Safeguarding Board'
agencies="police-gwent:POLICE:newport health-abb:HEALTH:newport education-gwent:EDUCATION:newport
vcs-gwent:VCS:newport la-blaenau-gwent:LA_FRONT_DOOR:blaenau-gwent
la-caerphilly:LA_FRONT_DOOR:caerphilly la-monmouthshire:LA_FRONT_DOOR:monmouthshire
la-newport:LA_FRONT_DOOR:newport la-torfaen:LA_FRONT_DOOR:torfaen la-cardiff:LA_FRONT_DOOR:cardiff
la-vale-of-glamorgan:LA_FRONT_DOOR:vale-of-glamorgan"

echo "== a generated year of $n referrals"
#  Certificates valid for the whole year ahead (the generated year starts tomorrow), and a CRL
#  current for it: the report is only made from a log that verifies.
"$bin/rhannu-ca" init "$work/pki" --days 900 >/dev/null
"$bin/rhannu-ca" issue "$work/pki" broker --type BROKER --days 800 >/dev/null
for spec in $agencies; do
    IFS=: read -r id type la <<< "$spec"
    "$bin/rhannu-ca" issue "$work/pki" "$id" --type "$type" --la "$la" --days 800 >/dev/null
done
"$bin/rhannu-ca" crl "$work/pki" --days 400 >/dev/null
"$build_dir/tests/rh-bench-year" "$work/data" "$work/pki" "$n" --label "police-gwent=$label" \
    > "$work/year.txt" || bad "rh-bench-year failed: $(cat "$work/year.txt")"
from=$(date -u -d tomorrow +%F)
to=$(date -u -d "+364 days" +%F)
audit () { "$bin/rhannu-audit" report --data "$work/data" --pki "$work/pki" "$@"; }

echo "== the figures as JSON and CSV"
audit --from "$from" --to "$to" --board "$board" --json --csv "$work/csv" \
    --html "$work/en.html" > "$work/report.json" 2> "$work/report.err"
expect "the report is made" "$?" 0
python3 - "$work/report.json" "$n" > "$work/json-checks.txt" 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
def check(name, good): print(("ok " if good else "BAD ") + name)
check("every referral of the period is counted", d["referrals"] >= n * 0.99 and d["referrals"] <= n)
areas = d["by_local_authority"]
check("the 7 areas and the one with none are listed", len(areas) == 8 and areas.get("powys") == 0)
check("most referrals have an outcome", d["decided"] > n * 0.9)
aaa = d["aaa"]
nums = [aaa["alerts"]["outcome_overdue"], aaa["alerts"]["repeat_referral_people"],
        aaa["assurance"]["outcomes_within_deadline"], aaa["achievements"]["decided"]]
check("the AAA block holds numbers", all(isinstance(x, int) and x > 0 for x in nums)
      and isinstance(aaa["assurance"]["within_deadline_percent"], float))
ppn = d["outcomes_by_kind"]["PPN"]
check("PPNs have a plausible NFA rate (40-70 %)", 40 <= ppn["nfa_percent"] <= 70)
check("repeat referrals, some escalated", d["repeat_referrals"]["people"] > 0
      and 0 < d["repeat_referrals"]["escalated"] < d["repeat_referrals"]["people"])
check("breaches, some put down to the outage", d["breaches"]["outcome_overdue_outage"] > 0
      and d["breaches"]["outcome_overdue_connected"] > 0)
rules = d["refusals_by_rule"]
check("refusals by rule hold rules only, with their sentences",
      all(not k.split("/")[-1].startswith("RH_") for k in rules)
      and rules["GWENT-CARDIFF-YEAR/R1"]["description"].startswith("referrals to the front door"))
check("refusals before any rule are by reason", set(d["refusals_by_reason"]) <= {"RH_E_SIG", "RH_E_CERT_UNKNOWN", "RH_E_REVOKED"} and d["refusals_by_reason"])
check("the period is the one asked for", d["report"]["board"] == "Gwent Safeguarding Board")
check("the log's root and its checkpoint head the report",
      len(d["log"]["root"]) == 64 and d["log"]["checkpoint"]["size"] > 0)
check("every month of the period is listed", len(d["by_month"]) in (12, 13))
EOF
while read -r verdict name; do
    if [ "$verdict" = ok ]; then ok "$name"; else bad "$verdict $name"; fi
done < "$work/json-checks.txt"
csv_label=$(python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print([r[1] for r in rows if r and r[0] == "police-gwent"][0])' "$work/csv/by_referrer.csv" 2>&1)
expect "the label goes through the CSV unchanged (RFC 4180 quoting)" "$csv_label" "$label"
expect "CSV lines end in CRLF" "$(head -1 "$work/csv/by_referrer.csv" | od -c | grep -c '\\r')" 1
escaped='Gwent &lt;Police&gt; &amp; &quot;Partners&quot;, Cymru'
expect "the label is escaped in the HTML source" "$(grep -q -F "$escaped" "$work/en.html" && echo yes)" yes
expect "no raw label in the HTML source" "$(grep -c -F "$label" "$work/en.html")" 0

echo "== --pdf without Chromium: one clear line"
PATH=/nonexistent audit --from "$from" --to "$to" --pdf "$work/none.pdf" 2> "$work/nopdf.err"
expect "exit 1 without Chromium" "$?" 1
expect_match "says Chromium is needed, in one line" "$(cat "$work/nopdf.err")" \
    '^rhannu-audit: --pdf needs headless Chromium \(chromium\) installed[^'$'\n'']*$'

#  ---------------------------------------------------------------------------------------------
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "  SKIP: chromium is not installed: the report is not read in a browser here"
    finish
    exit $?
fi
#  The DOM as Chromium built it, after layout (A4 at 96 dpi is 794 px wide).
dom () {
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --window-size=794,1123 \
        --run-all-compositor-stages-before-draw --virtual-time-budget=3000 \
        --user-data-dir="$work/chromium" --dump-dom "file://$1" 2>/dev/null
}
#  The page's text, and what the checks below need from its structure.
read_page () {
    python3 - "$1" <<'EOF'
import sys
from html.parser import HTMLParser
class Page(HTMLParser):
    def __init__(self):
        super().__init__(); self.text = []; self.stack = []; self.sections = {}; self.current = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section": self.current = a.get("id"); self.sections[self.current] = set()
        if self.current and tag in ("table", "svg"): self.sections[self.current].add(tag)
        if self.current and tag == "p" and a.get("class") == "empty": self.sections[self.current].add("empty")
        if tag in ("script", "style"): self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag == "section": self.current = None
        if self.stack and tag == self.stack[-1]: self.stack.pop()
    def handle_data(self, data):
        if not self.stack: self.text.append(data)
p = Page(); p.feed(open(sys.argv[1]).read())
print(" ".join(" ".join(p.text).split()))
for name, has in p.sections.items(): print("SECTION", name, ",".join(sorted(has)) or "-")
EOF
}

echo "== the English page in Chromium"
dom "$work/en.html" > "$work/en.dom"
read_page "$work/en.dom" > "$work/en.txt"
text=$(head -1 "$work/en.txt")
expect_match "the board is named" "$text" "Board $board"
expect_match "the period is stated" "$text" "Period $from to $to"
expect_match "the generation time is stated" "$text" 'Generated [0-9]{4}-[0-9]{2}-[0-9]{2}T'
expect_match "the log root and the checkpoint are stated" "$text" \
    'root [0-9a-f]{64}.*Checkpoint signed by the broker'
case "$text" in *"$label"*) ok "the label reads as written" ;; *) bad "the label is not in the page's text" ;; esac
expect_match "agencies by their labels" "$text" 'Aneurin Bevan University Health Board'
expect_match "an area with no referrals says so" "$text" 'Powys none received'
expect_match "AAA with numbers" "$text" \
    'Alerts, Assurance and Achievements.*[0-9,]+ referrals had their outcome overdue.*[0-9,]+ of [0-9,]+ outcomes within their deadline \([0-9]+%\)'
expect_match "PPN NFA rate" "$text" 'Police PPN [0-9,]+ [0-9,]+ [0-9]+%'
expect_match "refusals by rule with the rule's sentence" "$text" \
    'R1 GWENT-CARDIFF-YEAR referrals to the front door'
expect_match "professional challenges in words" "$text" 'No professional challenge was raised in the period'
for section in aaa by-month by-area by-agency time-to-outcome outcomes repeat breaches refusals later; do
    has=$(grep "^SECTION $section " "$work/en.txt" | cut -d' ' -f3)
    case "$section:$has" in
        aaa:*|later:empty) ok "section $section is there" ;;
        *:*svg*|*:*table*) ok "section $section shows figures ($has)" ;;
        *) bad "section $section has neither figures nor words ($has)" ;;
    esac
done
expect_match "the month trend has axes (months, referrals)" "$(grep -o 'class="tick"[^<]*>[^<]*' "$work/en.dom" | tr '\n' ' ')" \
    '>referrals .*>Jan '

echo "== nothing overflows an A4 page"
#  A copy of the page with a script that lists every element wider than the page or whose
#  content spills out of its box (the report itself has no scripts).
overflow_check='<script>
(function () {
  var width = document.documentElement.clientWidth, bad = [];
  document.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.right > width + 0.5 || r.left < -0.5) bad.push(e.tagName + " right " + Math.round(r.right));
    if (/^(TD|TH|DD|P|LI|H1|H2|H3)$/.test(e.tagName) && e.scrollWidth > e.clientWidth + 1)
      bad.push(e.tagName + " spills " + e.scrollWidth + ">" + e.clientWidth);
  });
  if (document.documentElement.scrollWidth > width) bad.push("page " + document.documentElement.scrollWidth);
  var out = document.createElement("pre"); out.id = "overflow";
  out.textContent = "OVERFLOW[" + bad.length + "] " + bad.slice(0, 5).join("; ");
  document.body.appendChild(out);
})();
</script></body>'
check_overflow () {    # check_overflow PAGE NAME
    sed "s#</body>#$(echo "$overflow_check" | tr '\n' ' ' | sed 's/[#&]/\\&/g')#" "$1" > "$work/$2-overflow.html"
    local result
    result=$(dom "$work/$2-overflow.html" | grep -o 'OVERFLOW\[[0-9]*\][^<]*')
    expect "nothing in the $2 page is wider than A4 ($result)" "${result%%]*}]" "OVERFLOW[0]"
}
check_overflow "$work/en.html" en

echo "== the Welsh page"
audit --from "$from" --to "$to" --board "$board" --lang cy --html "$work/cy.html" \
    2> "$work/cy.err"
expect "the Welsh report is made" "$?" 0
dom "$work/cy.html" > "$work/cy.dom"
read_page "$work/cy.dom" > "$work/cy.txt"
cy=$(head -1 "$work/cy.txt")
expect_match "Welsh title and board" "$cy" "Adroddiad y Bwrdd Diogelu.*Bwrdd $board"
expect_match "Welsh period" "$cy" "Cyfnod $from i $to"
expect_match "Welsh AAA" "$cy" 'Rhybuddion, Sicrwydd a Chyflawniadau'
expect_match "Welsh sections" "$cy" 'Atgyfeiriadau fesul awdurdod lleol.*Atgyfeiriadau fesul asiantaeth atgyfeirio.*Gwrthodiadau fesul rheol'
expect_match "Welsh months on the axis" "$(grep -o 'class="tick"[^<]*>[^<]*' "$work/cy.dom" | tr '\n' ' ')" '>Ion '
expect_match "the page says it is Welsh" "$(grep -o '<html lang="[a-z]*"' "$work/cy.dom")" 'lang="cy"'
case "$cy" in *"Referrals by month"*|*"No outcomes"*) bad "English left in the Welsh page" ;; *) ok "no English headings in the Welsh page" ;; esac
check_overflow "$work/cy.html" cy

echo "== a period with nothing in it says so in words"
audit --from 2020-01-01 --to 2020-12-31 --board "$board" --html "$work/empty.html" 2>/dev/null
dom "$work/empty.html" > "$work/empty.dom"
read_page "$work/empty.dom" > "$work/empty.txt"
empty=$(head -1 "$work/empty.txt")
expect_match "no referrals, in words" "$empty" 'No referrals were received in the period\.'
expect_match "no outcomes, in words (not 0 %)" "$empty" 'Assurance .*No outcomes in the period'
case "$empty" in *"within their deadline ("*|*"the referrer was sent"*) bad "figures of nothing are printed" ;; *) ok "no percentage of nothing, no 'referrer told' beside nothing decided" ;; esac
for section in by-month by-agency time-to-outcome outcomes repeat breaches refusals; do
    has=$(grep "^SECTION $section " "$work/empty.txt" | cut -d' ' -f3)
    expect "empty section $section says so in words" "$has" empty
done

echo "== printed to PDF through headless Chromium"
audit --from "$from" --to "$to" --board "$board" --pdf "$work/report.pdf" 2> "$work/pdf.err"
expect "--pdf succeeds" "$?" 0
expect "a PDF is written" "$(head -c 5 "$work/report.pdf" 2>/dev/null)" "%PDF-"
#  A4 is 595 x 842 points; Chromium writes each page's MediaBox in clear.
expect_match "its pages are A4" "$(grep -a -o 'MediaBox *\[[^]]*\]' "$work/report.pdf" | head -1)" \
    'MediaBox *\[ *0 +0 +59[45]\.[0-9]* +84[12]\.[0-9]* *\]'
finish
