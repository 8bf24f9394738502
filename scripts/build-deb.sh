#!/usr/bin/env bash
# Builds the Debian package mezz_VERSION_ARCH.deb with dpkg-deb from binaries already built,
# and prints its path.
#
#   scripts/build-deb.sh [BIN_DIR] [OUT_DIR]
#
# BIN_DIR holds mezzfs, segment-encode, abr-sim and replay-viz (default target/release; the
# tests use the debug binaries `cargo test` built, so CI does not build twice). The package
# holds the binaries (debug info stripped), man pages and bash/zsh/fish completions of each,
# generated from its clap definition (`BIN --generate-assets DIR`, see ops/src/assets.rs),
# /sbin/mount.mezzfs for `mount -t mezzfs` and fstab (a link to mezzfs), and an example
# systemd unit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release}")
out=$(realpath -m "${2:-target/deb}")
bins=(mezzfs segment-encode abr-sim replay-viz)
for b in "${bins[@]}"; do
    [ -x "$bin/$b" ] || { echo "build-deb: $bin/$b missing (cargo build --release --workspace --bins)" >&2; exit 1; }
done
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$work/root
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/sbin" "$pkg/usr/share/man/man1" \
    "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
    "$pkg/usr/share/fish/vendor_completions.d" "$pkg/usr/share/doc/mezz/examples"
for b in "${bins[@]}"; do
    strip --strip-debug -o "$pkg/usr/bin/$b" "$bin/$b"
done
# mount(8) runs /sbin/mount.<type>; /sbin is /usr/sbin on Debian.
ln -s ../bin/mezzfs "$pkg/usr/sbin/mount.mezzfs"
for b in "${bins[@]}"; do
    "$bin/$b" --generate-assets "$work/assets"
    install -m 644 "$work/assets/completions/$b.bash" "$pkg/usr/share/bash-completion/completions/$b"
    install -m 644 "$work/assets/completions/_$b" "$pkg/usr/share/zsh/vendor-completions/_$b"
    install -m 644 "$work/assets/completions/$b.fish" "$pkg/usr/share/fish/vendor_completions.d/$b.fish"
done
for page in "$work"/assets/man1/*.1; do
    gzip -9n < "$page" > "$pkg/usr/share/man/man1/$(basename "$page").gz"
done
install -m 644 packaging/mezzfs-mount@.service "$pkg/usr/share/doc/mezz/examples/"
install -m 644 README.md "$pkg/usr/share/doc/mezz/README.md"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: mezz
Version: $version
Architecture: $arch
Maintainer: mezz developers <mezz@localhost>
Installed-Size: $size
Depends: libc6, fuse3
Recommends: ffmpeg
Section: utils
Priority: optional
Description: media pipeline toolkit: encrypted media objects in S3, FUSE mounts, encoding
 mezzfs stores huge media objects in S3 or a local directory as encrypted multi-part
 objects and mounts them (and byte ranges of them) as read-only files, also from fstab
 (mount -t mezzfs). segment-encode encodes scenes to AV1, abr-sim simulates adaptive
 bitrate players, replay-viz shows recorded mount replays.
CONTROL
mkdir -p "$out"
deb="$out/mezz_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zzstd -z3 --build "$pkg" "$deb" >&2
echo "$deb"
