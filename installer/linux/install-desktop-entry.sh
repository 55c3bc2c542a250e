#!/bin/sh
# Add UKAN Studio to the current user's application menu (no administrator rights needed).
#   ./install-desktop-entry.sh           add the menu entry and icon (run it again after moving this folder)
#   ./install-desktop-entry.sh --remove  take them away again (this folder itself is left alone)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
entry=$data/applications/ukan-studio.desktop
icon=$data/icons/hicolor/256x256/apps/ukan-studio.png

refresh() {  # menus watch these folders; a newer time stamp makes icon caches look again
    for folder in "$data/applications" "$data/icons/hicolor"; do
        if [ -d "$folder" ]; then touch "$folder"; fi
    done
}

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$icon"
    refresh
    echo "removed the UKAN Studio menu entry ($entry)"
    exit 0
fi
if [ ! -x "$here/ukan-studio" ]; then
    echo "error: $here/ukan-studio not found; run this script from the unpacked ukan-studio folder" >&2
    exit 2
fi
case $here in
    *'"'* | *'`'* | *'$'* | *'\'* | *'|'*)
        echo "error: the folder path contains a character a menu entry cannot hold: $here" >&2
        exit 2 ;;
esac

mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$here/ukan-studio.png" "$icon"
sed -e "s|^Exec=.*|Exec=\"$here/ukan-studio\"|" -e "s|^TryExec=.*|TryExec=$here/ukan-studio|" \
    "$here/ukan-studio.desktop" > "$entry"
refresh
echo "added UKAN Studio to the application menu ($entry)"
echo "for the command line, link the CLI into your PATH, e.g.: ln -s \"$here/ukan\" ~/.local/bin/ukan"
