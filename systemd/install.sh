#!/usr/bin/env bash
# Install (or remove) nightcolor.service on a Jetson.
#
#   sudo systemd/install.sh --model MODEL [--prefix /opt/nightcolor] [--venv DIR]
#   sudo systemd/install.sh --uninstall [--purge]
#   systemd/install.sh --root DESTDIR --venv DIR ...   # lay the files into DESTDIR only
#   MODEL: the folder `convert --fp16 ckpt.pt` wrote (or its ckpt.json), or a checkpoint .pt
#   where torch is installed (--checkpoint is the same option). --python PY: the interpreter
#   the venv is made from (default /usr/bin/python3, JetPack's); --with-pycuda: also build
#   pycuda (compiles against CUDA); --no-start: enable but do not (re)start; --skip-model:
#   leave the model and the config checks alone.
#
# Install: the venv if missing (with the system packages visible: JetPack's OpenCV with
# GStreamer, TensorRT, CUDA bindings; pip adds only the viewer's pure/binary wheels, never
# torch or PyPI's OpenCV), the `nightcolor` system user (sysusers.d), the config if absent
# (checked against this OpenCV/GStreamer), the model into the folder the config names (every
# file its card lists; a checkpoint is converted first), the TensorRT engine where TensorRT is
# installed (else the viewer builds it at first start), the udev rule for /dev/gpiochip*, the
# unit, then `systemctl enable` and (re)start. With --root nothing outside DESTDIR is touched
# but the venv named by --venv (created there if missing): no systemctl, udevadm or chown.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
prog=install.sh
root=/
prefix=/opt/nightcolor
venv=
model_src=
python=/usr/bin/python3
pycuda=no
start=yes
model=yes
action=install
purge=no

die() { echo "$prog: error: $*" >&2; exit 2; }
say() { echo "$prog: $*"; }
usage() { sed -n '2,21s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
    case $1 in
        --root) root=${2:?--root needs a folder}; shift ;;
        --prefix) prefix=${2:?--prefix needs a folder}; shift ;;
        --venv) venv=${2:?--venv needs a folder}; shift ;;
        --model|--checkpoint) model_src=${2:?$1 needs a model folder, card or checkpoint}; shift ;;
        --python) python=${2:?--python needs an interpreter}; shift ;;
        --with-pycuda) pycuda=yes ;;
        --no-start) start=no ;;
        --skip-model) model=no ;;
        --uninstall) action=uninstall ;;
        --purge) purge=yes ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)." ;;
    esac
    shift
done
if [ -z "$venv" ] && [ "$root" != / ] && [ "$action" = install ]; then
    die "with --root, name the venv with --venv DIR (created there if missing; the unit runs it from that path)."
fi
venv=${venv:-$prefix/venv}
case $venv in /*) ;; *) die "--venv '$venv' must be an absolute path (the unit runs from it)." ;; esac
[ -d "$root" ] || die "--root '$root' is not a folder."
root=$(cd "$root" && pwd)
live=no; [ "$root" = / ] && live=yes
dest() { echo "${root%/}$1"; }          # a target path inside the tree being installed into

unit=/etc/systemd/system/nightcolor.service
config=/etc/nightcolor/nightcolor.toml
sysusers=/etc/sysusers.d/nightcolor.conf
udev_rule=/etc/udev/rules.d/60-nightcolor-gpio.rules

if [ "$live" = yes ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo), or stage into a folder with --root DESTDIR."
fi

do_uninstall() {
    if [ "$live" = yes ] && command -v systemctl >/dev/null; then
        systemctl disable --now nightcolor.service 2>/dev/null || true
    fi
    rm -f "$(dest $unit)" "$(dest $udev_rule)" "$(dest $sysusers)"
    if [ "$live" = yes ] && command -v systemctl >/dev/null; then systemctl daemon-reload; fi
    if [ "$purge" = yes ]; then
        rm -rf "$(dest /etc/nightcolor)" "$(dest /var/lib/nightcolor)"
        # Only a prefix of our own goes: --prefix /usr must never mean `rm -rf /usr`.
        if [ "$(basename "$prefix")" = nightcolor ]; then rm -rf "$(dest "$prefix")"; fi
        if [ "$live" = yes ] && id nightcolor >/dev/null 2>&1; then userdel nightcolor; fi
        say "removed the unit, config, models, $prefix and the user."
    else
        say "removed the unit; kept $config, /var/lib/nightcolor and $venv (--purge removes them)."
    fi
}

# The venv runs here (model plan, convert) and its path goes into the unit as is. It sees the
# system's packages (--system-site-packages), as jetson-utils' Python bindings (installed into
# /usr/lib/python3.*/dist-packages) and picamera2 (apt's python3-picamera2) are meant to be used:
# JetPack's OpenCV (GStreamer), TensorRT and CUDA bindings are never replaced by PyPI wheels.
ensure_venv() {
    if [ -x "$venv/bin/device" ]; then return; fi
    [ -x "$python" ] || die "--python '$python' is not an executable Python (JetPack's is /usr/bin/python3)."
    say "creating $venv from $python with the system packages visible (OpenCV, TensorRT, CUDA)"
    "$python" -m venv --system-site-packages "$venv" \
        || die "cannot create a venv at $venv with $python (Debian/Ubuntu: apt-get install python3-venv)."
    local py=$venv/bin/python reqs constraints cv2_before cv2_after
    constraints=$(mktemp)
    reqs=$(PYTHONPATH=$repo "$py" -m device.service.venv_plan --repo "$repo" --constraints "$constraints")
    cv2_before=$("$py" -c 'import cv2; print(cv2.__file__)' 2>/dev/null || true)
    [ -n "$cv2_before" ] || say "no system OpenCV: installing PyPI's, which has no GStreamer (csi://, gst://, drm:// unavailable)"
    # --only-binary: nothing compiles here (the project itself is built from this tree). The
    # build leaves build/ in the tree; a stale one would ship modules deleted since: start clean.
    rm -rf "$repo/build"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
        -c "$constraints" $reqs || { rm -f "$constraints"; die "pip could not install the viewer into $venv (see above)."; }
    rm -rf "$constraints" "$repo/build"
    cv2_after=$("$py" -c 'import cv2; print(cv2.__file__)' 2>/dev/null || true)
    if [ -n "$cv2_before" ] && [ "$cv2_after" != "$cv2_before" ]; then
        die "pip put an OpenCV ($cv2_after) in front of the system one ($cv2_before); pip uninstall it from $venv."
    fi
}

do_install() {
    ensure_venv
    local py
    py=$venv/bin/python
    if [ "$pycuda" = yes ] && ! "$py" -c 'import pycuda' 2>/dev/null; then
        say "building pycuda against this CUDA (--with-pycuda)"
        rm -rf "$repo/build"
        "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
            --no-binary=pycuda "$repo[jetson,pycuda]" \
            || die "pip could not build pycuda (is the CUDA toolkit's nvcc on PATH?)."
        rm -rf "$repo/build"
    fi
    # TensorRT runs engines through pycuda or cuda-python; with neither, the viewer falls back
    # to ONNX (and says so in `systemctl status`): say it now rather than at the first frame.
    if "$py" -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("tensorrt") and not (u.find_spec("pycuda") or u.find_spec("cuda"))))' 2>/dev/null; then
        say "TensorRT is here but no CUDA bindings (pycuda, cuda-python): rerun with --with-pycuda, or the viewer uses ONNX"
    fi
    # Validate before writing anything: which config, which model, what does it need?
    local config_src=$repo/systemd/nightcolor.toml
    [ -f "$(dest $config)" ] && config_src=$(dest $config)
    local plan ckpt verdict=fresh reason mode=none card= err
    if [ "$model" = yes ]; then
        err=$(mktemp)
        if ! plan=$("$py" -m device.service.model_plan --config "$config_src" --root "$root" 2>"$err"); then
            local msg; msg=$(sed 's/^model_plan: error: //' "$err"); rm -f "$err"
            die "$msg"
        fi
        rm -f "$err"
        { read -r ckpt; read -r verdict; read -r reason; } <<<"$plan"
        card=${ckpt%.pt}.json
    fi
    if [ "$model" = no ]; then
        [ -z "$model_src" ] || die "--model and --skip-model contradict each other."
    elif [ -n "$model_src" ]; then
        case $model_src in
            *.pt) mode=convert ;;
            *) mode=copy ;;
        esac
    elif [ "$verdict" = missing ] && [ -f "$ckpt" ]; then
        mode=convert; model_src=$ckpt
    elif [ "$verdict" = missing ]; then
        die "the configured model is missing ($reason); pass --model with the folder \`convert --fp16\` wrote (or its card, or a checkpoint .pt where torch is installed)."
    fi
    if [ "$mode" = convert ]; then
        [ -f "$model_src" ] || die "--model '$model_src' does not exist."
        "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)' \
            || die "--model $model_src is a checkpoint, and converting it needs torch, which $venv does not have; run \`convert --fp16 $model_src\` on the workstation and pass the folder it wrote."
    elif [ "$mode" = copy ]; then
        "$py" -m device.service.model_files check "$model_src" >/dev/null || exit 2
    fi

    say "user nightcolor (groups gpio, video)"
    install -D -m 0644 "$repo/systemd/nightcolor.sysusers" "$(dest $sysusers)"
    if command -v systemd-sysusers >/dev/null; then
        systemd-sysusers --root "$root" "$(dest $sysusers)"
    elif [ "$live" = yes ]; then
        getent group gpio >/dev/null || groupadd --system gpio
        id nightcolor >/dev/null 2>&1 || useradd --system --home-dir /var/lib/nightcolor \
            --shell /usr/sbin/nologin --groups gpio,video nightcolor
    fi

    if [ -f "$(dest $config)" ]; then
        say "keeping $config"
    else
        say "installing $config (edit camera, LED pins and display for this rig)"
        install -D -m 0644 "$repo/systemd/nightcolor.toml" "$(dest $config)"
    fi

    if [ "$model" = yes ]; then install -d -m 0750 "$(dirname "$ckpt")"; fi
    if [ "$mode" = convert ]; then
        if [ ! "$model_src" -ef "$ckpt" ]; then
            say "checkpoint $model_src -> ${ckpt#"${root%/}"}"
            install -m 0640 "$model_src" "$ckpt"
        fi
        say "converting ${ckpt#"${root%/}"}"
        # The venv's own convert: a bare `convert` on PATH is ImageMagick's.
        "$venv/bin/convert" --fp16 "$ckpt"
    elif [ "$mode" = copy ]; then
        say "model $model_src -> ${card#"${root%/}"} and the files it lists:"
        "$py" -m device.service.model_files install "$model_src" --to "$card" \
            | sed "s#^${root%/}#  #" || exit 2
    elif [ "$verdict" = fresh ] && [ "$model" = yes ]; then
        say "model up to date: $reason"
    fi
    if [ "$model" = yes ]; then
        # TensorRT here (a Jetson): build a missing or stale engine from the card's ONNX now, so
        # the first start does not wait minutes; elsewhere this only reports.
        plan=$("$py" -m device.service.model_plan --config "$(dest $config)" --root "$root" --build) \
            || die "building the TensorRT engine failed (the viewer will retry at start)."
        say "engine: $(sed -n 3p <<<"$plan")"
    fi

    install -D -m 0644 "$repo/systemd/60-nightcolor-gpio.rules" "$(dest $udev_rule)"
    install -d "$(dirname "$(dest $unit)")"
    sed "s#/opt/nightcolor/venv#$venv#g" "$repo/systemd/nightcolor.service" > "$(dest $unit).part"
    chmod 0644 "$(dest $unit).part"
    mv "$(dest $unit).part" "$(dest $unit)"
    say "unit $unit (runs $venv/bin/device)"

    if [ "$live" = no ]; then
        say "staged into $root; on the target run: systemctl daemon-reload && systemctl enable --now nightcolor"
        return
    fi
    # systemd's StateDirectory= chowns only a folder it did not own yet; files added later
    # by this root-run script must be the viewer's too (engine rebuilds replace them).
    if [ -d /var/lib/nightcolor ]; then chown -R nightcolor:nightcolor /var/lib/nightcolor; fi
    if command -v udevadm >/dev/null; then
        udevadm control --reload && udevadm trigger --subsystem-match=gpio
    fi
    systemctl daemon-reload
    systemctl enable nightcolor.service
    if [ "$start" = yes ]; then
        systemctl restart nightcolor.service
        say "started; follow it with: journalctl -u nightcolor -f"
    fi
}

"do_$action"
