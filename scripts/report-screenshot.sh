#!/usr/bin/env bash
# Renders a report's HTML page in headless Chromium and saves a screenshot, to see that the
# page, the chart and the heat map draw as meant (readable labels, no overlaps). Makes the
# demo report first (scripts/demo.sh) when DIR has no report.html. Skips with a message,
# exit 0, where Chromium is not installed (Debian: apt-get install -y chromium).
# The figures' contents are checked in tests/unit/test_report_charts.c; this is for the eye.
# --figures: only the two figures (report.svg over report-tensors.svg, 900 pixels wide), as
# docs/report-figures.png was made.
# Usage: scripts/report-screenshot.sh [--figures] [DIR=out/demo] [PNG=DIR/report.png]
set -euo pipefail
cd "$(dirname "$0")/.."
figures=false
if [ "${1:-}" = --figures ]; then
  figures=true
  shift
fi
dir=${1:-out/demo}
png=${2:-$dir/report.png}

# REPORT_BROWSER names another browser command (one that takes Chromium's options).
browser=
for b in ${REPORT_BROWSER:-chromium chromium-browser google-chrome}; do
  if command -v "$b" >/dev/null 2>&1; then
    browser=$b
    break
  fi
done
if [ -z "$browser" ]; then
  echo "report-screenshot: skipped, no chromium (apt-get install -y chromium)"
  exit 0
fi
if [ ! -f "$dir/report.html" ]; then
  scripts/demo.sh "$dir"
fi

# Heights of the SVGs in a file (from their root elements).
svg_heights() {
  grep -o '<svg xmlns="http://www.w3.org/2000/svg" class="[a-z]*" width="[0-9]*" height="[0-9]*"' \
    "$@" | sed 's/.*height="\([0-9]*\)"/\1/' | paste -sd+
}

dir_abs=$(cd "$dir" && pwd)
tmp=("$dir_abs/label-check.html")
trap 'rm -f "${tmp[@]}"' EXIT
if $figures; then
  page=$dir_abs/figures.html
  printf '<!DOCTYPE html><html><body style="margin:0">%s%s</body></html>\n' \
    '<img src="report.svg" style="display:block"/>' \
    '<img src="report-tensors.svg" style="display:block"/>' >"$page"
  tmp+=("$page")
  width=900
  height=$(($(svg_heights "$dir/report.svg" "$dir/report-tensors.svg")))
else
  page=$dir_abs/report.html
  width=1280
  # the table (a row per type) and both figures at their SVG heights
  height=$((320 + 30 * $(grep -c '<tr>' "$page") + $(svg_heights "$page")))
fi

mkdir -p "$(dirname "$png")"
png_abs=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
rm -f "$png_abs"
# --no-sandbox: CI and containers run as root, where Chromium's sandbox refuses to start.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --force-device-scale-factor=1 --window-size="$width,$height" \
  --screenshot="$png_abs" "file://$page" 2>/dev/null || true
if [ ! -s "$png_abs" ]; then
  echo "report-screenshot: $browser wrote no screenshot" >&2
  exit 1
fi
echo "report-screenshot: $png ($width x $height) of $page"

# The chart's labels as the browser lays them out (its fonts, not the writer's estimate): each
# text inside its box, no two texts overlapping, no text over a point.
check=${tmp[0]}
{
  echo '<!DOCTYPE html><html><body>'
  sed '1{/^<?xml/d}' "$dir/report.svg"
  cat <<'JS'
<pre id="result"></pre><script>
const bad = [], svg = document.querySelector('svg.chart');
const over = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width &&
                       a.y < b.y + b.height && b.y < a.y + a.height;
const labels = [...svg.querySelectorAll('g.label')].map(g => {
  const t = g.querySelector('text').getBBox(), r = g.querySelector('rect.label-box').getBBox();
  if (t.x < r.x - 0.5 || t.y < r.y - 0.5 || t.x + t.width > r.x + r.width + 0.5 ||
      t.y + t.height > r.y + r.height + 0.5) bad.push('text outside its box: ' + g.dataset.type);
  return {type: g.dataset.type, box: t};
});
const points = [...svg.querySelectorAll('circle.point')].map(c => ({type: c.dataset.type, box: c.getBBox()}));
labels.forEach((a, i) => {
  labels.slice(i + 1).forEach(b => { if (over(a.box, b.box)) bad.push(a.type + ' over ' + b.type); });
  points.forEach(p => { if (over(a.box, p.box)) bad.push(a.type + ' over the point of ' + p.type); });
});
document.getElementById('result').textContent =
  'labels ' + labels.length + ', problems ' + bad.length + (bad.length ? ': ' + bad.join('; ') : '');
</script></body></html>
JS
} >"$check"
result=$(timeout 120 "$browser" --headless --no-sandbox --disable-gpu --dump-dom "file://$check" \
  2>/dev/null | sed -n 's/.*<pre id="result">\([^<]*\)<.*/\1/p')
echo "report-screenshot: chart labels as rendered: ${result:-no result}"
case $result in
  *"problems 0") ;;
  *) exit 1 ;;
esac
