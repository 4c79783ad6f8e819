#!/bin/sh
# Runs in the graphical live tree: start Calamares on tty1 and the terminal installer on tty2,
# a root shell on the serial console (for logs and tests), no root password (a live medium).
set -eu
systemctl enable kiln-calamares.service kiln-terminal-installer.service
systemctl set-default graphical.target
mkdir -p /etc/systemd/system/serial-getty@ttyS0.service.d
printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %%I $TERM\n' > /etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf
passwd -d root
echo kiln-live > /etc/hostname
# nothing in the live system needs these (the kernel boots from the ISO: kiln/vmlinuz)
rm -rf /boot/vmlinuz-* /boot/System.map-* /boot/config-* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/cache/apt/*.bin
