#!/usr/bin/env bash
# Refreshes the Swagger UI files that authhttp/docs embeds for GET /docs, from the
# npm package swagger-ui-dist at the version in VERSION (or the one given:
# bash update.sh 5.36.0, which also rewrites VERSION). Needs npm and tar;
# nothing else of the package is kept. Review the diff, then run the docs
# tests (go test ./authhttp/docs ./examples/server).
set -euo pipefail
cd "$(dirname "$0")"
version=${1:-$(cat VERSION)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf "swagger-ui-dist-$version.tgz")
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cp "$tmp/package/$f" "$f"
done
# The bundle's last line points at a source map that is not shipped.
sed -i '/^\/\/# sourceMappingURL=/d' swagger-ui-bundle.js
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' swagger-ui.css
echo "$version" > VERSION
echo "swagger-ui-dist $version: $(du -ch swagger-ui-bundle.js swagger-ui.css | tail -n 1 | cut -f1) embedded"
