#!/bin/sh
# Pack "dist/UKAN Studio.app" (made by `python installer/build.py` on a Mac) into a disk image:
#   installer/macos/make_dmg.sh [DIST]      -> DIST/ukan-studio-<version>-macos-<arch>.dmg
# The image holds the app and a link to /Applications, so users install by dragging.
# Needs macOS (hdiutil). The app is not signed with a Developer ID: see installer/README.md.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
dist=${1:-$root/dist}
app="$dist/UKAN Studio.app"
if [ ! -d "$app" ]; then
    echo "error: $app not found; run python installer/build.py on this Mac first" >&2
    exit 2
fi
version=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$app/Contents/Info.plist")
arch=$(uname -m)
out="$dist/ukan-studio-$version-macos-$arch.dmg"

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
ditto "$app" "$staging/UKAN Studio.app"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "UKAN Studio" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$out"
echo "wrote $out"
