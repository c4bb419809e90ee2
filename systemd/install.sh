#!/usr/bin/env bash
# Install (or remove) nightcolor.service on a Jetson.
#
#   sudo systemd/install.sh [--checkpoint ckpt.pt] [--prefix /opt/nightcolor] [--venv DIR]
#   sudo systemd/install.sh --uninstall [--purge]
#   systemd/install.sh --root DESTDIR --venv DIR ...   # lay the files into DESTDIR only
#   --no-start: enable but do not (re)start; --skip-model: leave the model alone
#
# Install: the venv (created with the JetPack system packages visible, for TensorRT), the
# `nightcolor` system user (sysusers.d), /etc/nightcolor/nightcolor.toml if absent, the
# checkpoint into the folder the config names, `convert --fp16` when the engine is missing or
# stale, the udev rule for /dev/gpiochip*, the unit, then `systemctl enable` and (re)start.
# With --root nothing outside DESTDIR is touched: no systemctl, udevadm or chown.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
prog=install.sh
root=/
prefix=/opt/nightcolor
venv=
checkpoint=
start=yes
model=yes
action=install
purge=no

die() { echo "$prog: error: $*" >&2; exit 2; }
say() { echo "$prog: $*"; }
usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
    case $1 in
        --root) root=${2:?--root needs a folder}; shift ;;
        --prefix) prefix=${2:?--prefix needs a folder}; shift ;;
        --venv) venv=${2:?--venv needs a folder}; shift ;;
        --checkpoint) checkpoint=${2:?--checkpoint needs a file}; shift ;;
        --no-start) start=no ;;
        --skip-model) model=no ;;
        --uninstall) action=uninstall ;;
        --purge) purge=yes ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)." ;;
    esac
    shift
done
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

# The venv runs here (model plan, convert) and its path goes into the unit as is.
ensure_venv() {
    if [ -x "$venv/bin/device" ]; then return; fi
    [ "$live" = yes ] || die "--venv '$venv' has no bin/device; with --root, point --venv at an installed venv."
    say "creating $venv (with system packages: JetPack's TensorRT lives there)"
    python3 -m venv --system-site-packages "$venv"
    "$venv/bin/pip" install --quiet "$repo[train,jetson]"
}

do_install() {
    ensure_venv
    local py
    py=$venv/bin/python
    # Validate before writing anything: which config, which checkpoint, is a conversion due?
    local config_src=$repo/systemd/nightcolor.toml
    [ -f "$(dest $config)" ] && config_src=$(dest $config)
    local plan ckpt verdict=skip reason
    if [ "$model" = yes ]; then
        plan=$("$py" -m device.service.model_plan --config "$config_src" --root "$root") || exit 2
        { read -r ckpt; read -r verdict; read -r reason; } <<<"$plan"
    fi
    if [ "$model" = no ]; then
        [ -z "$checkpoint" ] || die "--checkpoint and --skip-model contradict each other."
    elif [ -n "$checkpoint" ]; then
        [ -f "$checkpoint" ] || die "--checkpoint '$checkpoint' does not exist."
        verdict=convert; reason="new checkpoint $checkpoint"
    elif [ "$verdict" = convert ] && [ ! -f "$ckpt" ]; then
        die "the configured model needs converting ($reason) but there is no checkpoint $ckpt; pass --checkpoint ckpt.pt."
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
    if [ -n "$checkpoint" ] && [ ! "$checkpoint" -ef "$ckpt" ]; then
        say "checkpoint $checkpoint -> ${ckpt#"${root%/}"}"
        install -m 0640 "$checkpoint" "$ckpt"
    fi
    if [ "$verdict" = convert ]; then
        say "converting ${ckpt#"${root%/}"}: $reason"
        # The venv's own convert: a bare `convert` on PATH is ImageMagick's.
        "$venv/bin/convert" --fp16 "$ckpt"
    elif [ "$verdict" = fresh ]; then
        say "model up to date: $reason"
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
