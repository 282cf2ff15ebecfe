#!/bin/sh
# Build ocirt/native/ocirt-init and ocirt/native/_native.abi3.so in place with plain gcc,
# for quick iteration (setup.py build_ext --inplace produces the same two files).
set -eu
cd "$(dirname "$0")/.."
CFLAGS="-O2 -Wall -Wextra -Werror=implicit-function-declaration -D_GNU_SOURCE"
gcc $CFLAGS -Icsrc/lib -Icsrc/init csrc/init/*.c csrc/lib/*.c -Wl,-z,now \
    -o ocirt/native/ocirt-init
mkdir -p build/dev
python3 -c 'from ocirt.native._build import ffibuilder; ffibuilder.emit_c_code("build/dev/_native.c")'
PYINC=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
gcc $CFLAGS -Wno-unused-parameter -shared -fPIC -I"$PYINC" -Icsrc/lib -Icsrc/native \
    build/dev/_native.c csrc/lib/*.c csrc/native/*.c -lseccomp -o ocirt/native/_native.abi3.so
