#!/usr/bin/env bash
# Install the frozen ConvStudio (built by packaging/build.sh) for the current user, no root needed:
#
#   ./packaging/install-user.sh              copy the app to ~/.local/opt/convstudio, add its menu
#                                            entry, icons, AppStream metadata and ~/.local/bin/convstudio
#   ./packaging/install-user.sh --in-place   the same, but run the app from packaging/dist/ (no copy)
#   ./packaging/install-user.sh --uninstall  remove everything the install added
#
# Files: $XDG_DATA_HOME (default ~/.local/share)/applications/io.github.convstudio.ConvStudio.desktop,
# .../icons/hicolor/<N>x<N>/apps/io.github.convstudio.ConvStudio.png (and scalable/apps/*.svg),
# .../metainfo/io.github.convstudio.ConvStudio.metainfo.xml. Set CONVSTUDIO_APP_DIR to copy the app
# elsewhere than ~/.local/opt/convstudio, CONVSTUDIO_DIST to install another build folder than
# packaging/dist/convstudio (an unpacked release tarball's convstudio/, for example).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

APP_ID=io.github.convstudio.ConvStudio
SIZES=(16 24 32 48 64 128 256 512)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
APP_DIR=${CONVSTUDIO_APP_DIR:-$HOME/.local/opt/convstudio}
BIN_LINK=$HOME/.local/bin/convstudio
BUILT=${CONVSTUDIO_DIST:-$HERE/dist/convstudio}
ICONS=$ROOT/resources/icons

mode=install
for arg in "$@"; do
  case $arg in
    --in-place) mode=in-place ;;
    --uninstall) mode=uninstall ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-user: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

refresh_caches() {
  # Menus and icon themes pick the change up by themselves on most desktops; these make it
  # immediate where the tools exist. An icon cache is only refreshed where one already exists:
  # without a cache, GTK reads the folders directly.
  if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$DATA/applications" ]; then
    update-desktop-database -q "$DATA/applications" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 \
      && [ -f "$DATA/icons/hicolor/icon-theme.cache" ]; then
    gtk-update-icon-cache -q -f -t "$DATA/icons/hicolor" || true
  fi
}

# A path as one argument of a desktop entry's Exec key: quoted and escaped as the Desktop Entry
# Specification says when it holds anything but plain characters.
exec_arg() {
  local s=$1
  if [[ $s =~ ^[A-Za-z0-9/._+-]+$ ]]; then printf '%s' "$s"; return; fi
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//\`/\\\`}; s=${s//\$/\\\$}  # inside the quotes
  s=${s//%/%%}                                                        # field codes
  s=${s//\\/\\\\}                                                     # the string escape layer
  printf '"%s"' "$s"
}

if [ "$mode" = uninstall ]; then
  rm -f "$DATA/applications/$APP_ID.desktop" "$DATA/metainfo/$APP_ID.metainfo.xml" \
        "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
  for n in "${SIZES[@]}"; do rm -f "$DATA/icons/hicolor/${n}x${n}/apps/$APP_ID.png"; done
  if [ -L "$BIN_LINK" ]; then
    case $(readlink "$BIN_LINK") in
      "$APP_DIR"/*|"$BUILT"/*) rm -f "$BIN_LINK" ;;
    esac
  fi
  # Only ever a folder that holds a frozen ConvStudio.
  if [ -x "$APP_DIR/convstudio" ] && [ -d "$APP_DIR/_internal/convstudio" ]; then
    rm -rf "$APP_DIR"
  fi
  refresh_caches
  echo "install-user: ConvStudio removed for $(id -un)"
  exit 0
fi

if [ ! -x "$BUILT/convstudio" ]; then
  echo "install-user: no frozen app in $BUILT; build it first: ./packaging/build.sh" >&2
  exit 1
fi

if [ "$mode" = in-place ]; then
  app=$BUILT
else
  echo "install-user: copying the app to $APP_DIR"
  mkdir -p "$(dirname "$APP_DIR")"
  rm -rf "$APP_DIR.new"
  cp -a "$BUILT" "$APP_DIR.new"
  if [ -e "$APP_DIR" ]; then
    if [ -x "$APP_DIR/convstudio" ] && [ -d "$APP_DIR/_internal/convstudio" ]; then
      rm -rf "$APP_DIR"
    else
      rm -rf "$APP_DIR.new"
      echo "install-user: $APP_DIR exists and is not a ConvStudio install; not touching it" >&2
      exit 1
    fi
  fi
  mv "$APP_DIR.new" "$APP_DIR"
  app=$APP_DIR
fi
binary=$app/convstudio

mkdir -p "$DATA/applications" "$DATA/metainfo" "$DATA/icons/hicolor/scalable/apps"
desktop=$DATA/applications/$APP_ID.desktop
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    Exec=*) printf 'Exec=%s %%f\n' "$(exec_arg "$binary")" ;;
    TryExec=*) ;;
    *) printf '%s\n' "$line"
       # TryExec hides the entry if the app is gone (a string value: only \ is escaped).
       [ "$line" = "Type=Application" ] && printf 'TryExec=%s\n' "${binary//\\/\\\\}" ;;
  esac
done < "$HERE/$APP_ID.desktop" > "$desktop.tmp"
mv "$desktop.tmp" "$desktop"
cp "$HERE/$APP_ID.metainfo.xml" "$DATA/metainfo/"
cp "$ICONS/convstudio.svg" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
for n in "${SIZES[@]}"; do
  mkdir -p "$DATA/icons/hicolor/${n}x${n}/apps"
  cp "$ICONS/convstudio-$n.png" "$DATA/icons/hicolor/${n}x${n}/apps/$APP_ID.png"
done

# The command line too, where ~/.local/bin is free for it: never over another convstudio (a pip
# or pipx install), only over a link of ours or a dangling one.
ours_or_free() {
  [ -e "$BIN_LINK" ] || [ -L "$BIN_LINK" ] || return 0
  [ -L "$BIN_LINK" ] || return 1
  [ -e "$BIN_LINK" ] || return 0
  case $(readlink "$BIN_LINK") in "$APP_DIR"/*|"$BUILT"/*) return 0 ;; esac
  return 1
}
if ours_or_free; then
  mkdir -p "$(dirname "$BIN_LINK")"
  ln -sfn "$binary" "$BIN_LINK"
  bin_note="command line: $BIN_LINK"
else
  bin_note="command line: $binary ($BIN_LINK exists and is not ours; left alone)"
fi

if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$desktop"
fi
refresh_caches
echo "install-user: installed for $(id -un): $desktop"
echo "install-user: app: $binary; $bin_note"
echo "install-user: remove with: $0 --uninstall"
