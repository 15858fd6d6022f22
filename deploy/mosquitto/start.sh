#!/bin/sh
# Entry point of the mosquitto service: builds the password and ACL files from the environment (so no password is
# ever committed), owned by the broker's user and private, then runs the broker in the foreground.
set -eu
: "${MQTT_HUB_USER:?set MQTT_HUB_USER in .env}"
: "${MQTT_HUB_PASSWORD:?set MQTT_HUB_PASSWORD in .env}"
: "${MQTT_DEVICE_USER:?set MQTT_DEVICE_USER in .env}"
: "${MQTT_DEVICE_PASSWORD:?set MQTT_DEVICE_PASSWORD in .env}"

umask 077
auth=/mosquitto/auth
mkdir -p "$auth"
rm -f "$auth/passwd"
mosquitto_passwd -b -c "$auth/passwd" "$MQTT_HUB_USER" "$MQTT_HUB_PASSWORD"
mosquitto_passwd -b "$auth/passwd" "$MQTT_DEVICE_USER" "$MQTT_DEVICE_PASSWORD"
sed -e "s/^user HUB_USER$/user $MQTT_HUB_USER/" -e "s/^user DEVICE_USER$/user $MQTT_DEVICE_USER/" /deploy/acl > "$auth/acl"
chown -R mosquitto:mosquitto "$auth" /mosquitto/data
chmod 0700 "$auth"
chmod 0600 "$auth/passwd" "$auth/acl"

exec /usr/sbin/mosquitto -c /deploy/mosquitto.conf
