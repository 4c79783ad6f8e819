#!/usr/bin/env python3
# Kiln's install step for Calamares: hands the answers of the pages to Kiln's installer engine
# (/installer/kiln-installer.js --answers-stdin, the program the terminal installer runs) and
# turns its "[n/6]" progress lines into Calamares' progress bar. Nothing is installed here: the
# engine writes the image, renews the identifiers, grows, rewrites fstab and grub, applies the
# answers, and checks them by the terminal installer's rules first.
import json
import re
import subprocess

import libcalamares

MEDIA = "/run/kiln-media"
STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def pretty_name():
    return "Installing the system"


def deobscure(text):
    # Calamares keeps the password in global storage "obscured" (CalamaresUtils::obscure:
    # every character above U+0021 is replaced by U+1001F minus it); the operation is its own inverse
    return "".join(c if ord(c) <= 0x21 else chr(0x1001F - ord(c)) for c in text)


def medium_device():
    try:
        with open("/run/kiln-medium") as f:
            return f.read().strip()
    except OSError:
        return ""


def run():
    gs = libcalamares.globalstorage
    answers = {
        "system": gs.value("packagechooser_kilnsystem") or "",
        "target": gs.value("packagechooser_kilndisk") or "",
        "hostname": gs.value("hostname") or "",
        "user": {"name": gs.value("username") or "", "password": deobscure(gs.value("password") or "")},
    }
    log = libcalamares.job.configuration.get("log", "/run/kiln-install.log")
    args = ["node", "/installer/kiln-installer.js", MEDIA] + ([medium_device()] if medium_device() else []) + ["--answers-stdin"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.stdin.write(json.dumps(answers))
    proc.stdin.close()
    failure = None
    for line in proc.stdout:
        line = line.rstrip("\n")
        libcalamares.utils.debug("kiln: " + line)
        m = STEP.match(line)
        if m:
            libcalamares.job.setprogress((int(m.group(1)) - 1) / int(m.group(2)))
        if line.startswith("KILN-INSTALL-FAILED: "):
            failure = line[len("KILN-INSTALL-FAILED: "):]
    code = proc.wait()
    if code != 0 or failure:
        return ("The installation failed", (failure or "the installer exited with code %d" % code) + "<br/>The full log is " + log + " (terminal installer and a shell: Ctrl+Alt+F2).")
    libcalamares.job.setprogress(1.0)
    return None
