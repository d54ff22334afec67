#!/bin/sh
# Fetches the CIFAR-10 binary version (the format gc_cifar10_load reads), checks its MD5 against
# the one published with the data set and unpacks it, for machines that have a network.
# Usage: tools/cifar10_download.sh DIR   (files end up in DIR/cifar-10-batches-bin)
set -eu

url="${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}"
# The published checksum; CIFAR10_MD5 replaces it only to test this script on a made-up archive.
expected_md5="${CIFAR10_MD5:-c32a1d4ab5d03f1284b67883e8d87530}"

fail() {
    echo "cifar10_download: $*" >&2
    exit 1
}

if [ "$#" -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    echo "Usage: $0 DIR" >&2
    echo "Downloads CIFAR-10 (binary version, 163 MiB) into DIR/cifar-10-batches-bin." >&2
    echo "CIFAR10_URL overrides the download address (a mirror; file:// URLs need curl)." >&2
    exit 2
fi
dir="$1"
archive="$dir/cifar-10-binary.tar.gz"
unpacked="$dir/cifar-10-batches-bin"

md5_of() {
    if command -v md5sum >/dev/null 2>&1; then
        md5sum "$1" | cut -d ' ' -f 1
    elif command -v md5 >/dev/null 2>&1; then
        md5 -q "$1" # macOS
    else
        fail "neither md5sum nor md5 is installed, cannot check the download"
    fi
}

mkdir -p "$dir" || fail "cannot create $dir"

# An archive left by an earlier run is reused when it is intact, so a failed unpack or a second
# machine sharing the folder does not download 163 MiB again.
if [ -f "$archive" ] && [ "$(md5_of "$archive")" = "$expected_md5" ]; then
    echo "cifar10_download: $archive is already there and intact"
else
    # Downloading under another name means an interrupted transfer is never mistaken for the
    # archive.
    partial="$archive.part"
    rm -f "$partial"
    echo "cifar10_download: downloading $url"
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 3 -o "$partial" "$url" ||
            { rm -f "$partial"; fail "download of $url failed (curl)"; }
    elif command -v wget >/dev/null 2>&1; then
        wget -O "$partial" "$url" ||
            { rm -f "$partial"; fail "download of $url failed (wget)"; }
    else
        fail "neither curl nor wget is installed"
    fi
    actual_md5="$(md5_of "$partial")"
    if [ "$actual_md5" != "$expected_md5" ]; then
        rm -f "$partial"
        fail "$url has MD5 $actual_md5, expected $expected_md5 (damaged or a different file)"
    fi
    mv "$partial" "$archive"
fi

tar -xzf "$archive" -C "$dir" || fail "cannot unpack $archive"
for name in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin \
    data_batch_5.bin test_batch.bin; do
    [ -f "$unpacked/$name" ] || fail "$archive did not contain cifar-10-batches-bin/$name"
done

echo "cifar10_download: CIFAR-10 is in $unpacked (data_batch_1..5.bin, test_batch.bin);"
echo "cifar10_download: train with  glowcl train images --data cifar10:$unpacked"
