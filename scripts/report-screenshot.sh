#!/usr/bin/env bash
# Renders a report's HTML page in headless Chromium and saves a screenshot, to see that the
# page, the chart and the heat map draw as meant (readable labels, no overlaps). Makes the
# demo report first (scripts/demo.sh) when DIR has no report.html. Skips with a message,
# exit 0, where Chromium is not installed (Debian: apt-get install -y chromium).
# The page's figures are checked in tests/unit/test_report_charts.c; this is for the eye.
# Usage: scripts/report-screenshot.sh [DIR=out/demo] [PNG=DIR/report.png] [WIDTH=1280]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-out/demo}
png=${2:-$dir/report.png}
width=${3:-1280}

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

# The page's height: the table (a row per type) and both figures at their SVG heights.
rows=$(grep -c '<tr>' "$dir/report.html")
svg_h=$(($(grep -o '<svg xmlns="http://www.w3.org/2000/svg" class="[a-z]*" width="[0-9]*" height="[0-9]*"' \
  "$dir/report.html" | sed 's/.*height="\([0-9]*\)"/\1/' | paste -sd+)))
height=$((200 + 30 * rows + svg_h + 120))

html=$(cd "$dir" && pwd)/report.html
mkdir -p "$(dirname "$png")"
png_abs=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
rm -f "$png_abs"
# --no-sandbox: CI and containers run as root, where Chromium's sandbox refuses to start.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --force-device-scale-factor=1 --window-size="$width,$height" \
  --screenshot="$png_abs" "file://$html" 2>/dev/null || true
if [ ! -s "$png_abs" ]; then
  echo "report-screenshot: $browser wrote no screenshot" >&2
  exit 1
fi
echo "report-screenshot: $png ($width x $height) of $dir/report.html"
