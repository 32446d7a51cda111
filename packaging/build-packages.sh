#!/usr/bin/env bash
# Builds the packages for the build machine's architecture, into the output directory (default artifacts/packages):
#   platform-agent_<version>_<debarch>.deb         the agent (NativeAOT: one native executable), its unit and settings
#   platform-api-<version>-linux-<arch>.tar.gz     the api published self-contained, its unit, settings and INSTALL.md
# The one way they are made: build.cake's Package target runs this, and so does tests/Packaging.
# Usage, after a restore (dotnet restore Platform.sln, or any build of it):
#   packaging/build-packages.sh [--configuration Release] [--output DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/packaging"
configuration=Release
output="$root/artifacts/packages"
while [ $# -gt 0 ]; do
  case "$1" in
    --configuration) configuration=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    *) echo "build-packages.sh: unknown argument '$1' (--configuration, --output)" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "build-packages.sh: dpkg-deb is needed (Debian's dpkg package)" >&2; exit 2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
property() { dotnet msbuild "$root/agent/Platform.Agent.csproj" -nologo -getProperty:"$1"; }
version=$(property Version)       # Directory.Build.props
rid=$(property NETCoreSdkRuntimeIdentifier)
case "$rid" in
  linux-x64) debarch=amd64 ;;
  linux-arm64) debarch=arm64 ;;
  *) echo "build-packages.sh: no Debian architecture for the runtime $rid" >&2; exit 2 ;;
esac

mkdir -p "$output"
output=$(cd "$output" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The agent: restored for this runtime with the solution (agent/Platform.Agent.csproj: RuntimeIdentifiers), so the
# publish shares the build's intermediate files (the native compile is skipped when nothing changed), as
# agent/NativeAgent.targets does. Not restored again: a restore for one runtime would rewrite the referenced
# projects' obj/ and make the next ordinary build start over.
dotnet publish "$root/agent/Platform.Agent.csproj" -c "$configuration" -r "$rid" --no-restore -nologo -v q -clp:ErrorsOnly -o "$work/agent"

# The api, self-contained and not trimmed (Dapper, FluentValidation and Swashbuckle bind by reflection, which trimming
# would break; the agent, NativeAOT, is trimmed already). Its projects are restored for no runtime in the build, so it is restored and built for
# this one in a tree of its own (artifacts/package-build), kept between runs.
dotnet publish "$root/api/Platform.Api.csproj" -c "$configuration" -r "$rid" --self-contained \
  --artifacts-path "$root/artifacts/package-build" -nologo -v q -clp:ErrorsOnly -o "$work/api"

# The Debian package: files owned by root (--root-owner-group), modes as given here.
deb="$work/deb"
install -d "$deb/DEBIAN" "$deb/usr/lib/platform-agent" "$deb/usr/bin" "$deb/lib/systemd/system" "$deb/usr/share/doc/platform-agent"
install -d -m 0755 "$deb/etc/platform-agent"
install -m 0755 "$work/agent/Platform.Agent" "$deb/usr/lib/platform-agent/Platform.Agent"
install -m 0644 "$work/agent/sensor.bpf.o" "$deb/usr/lib/platform-agent/sensor.bpf.o"
ln -s ../lib/platform-agent/Platform.Agent "$deb/usr/bin/platform-agent"
install -m 0644 "$here/agent/platform-agent.service" "$deb/lib/systemd/system/platform-agent.service"
install -m 0600 "$here/agent/agent.env" "$deb/etc/platform-agent/agent.env"
install -m 0644 "$here/agent/README" "$deb/usr/share/doc/platform-agent/README"
install -m 0644 "$here/agent/copyright" "$deb/usr/share/doc/platform-agent/copyright"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")/" "$here/agent/changelog.in" | gzip -9n > "$deb/usr/share/doc/platform-agent/changelog.gz"
chmod 0644 "$deb/usr/share/doc/platform-agent/changelog.gz"
install -D -m 0644 "$here/agent/debian/lintian-overrides" "$deb/usr/share/lintian/overrides/platform-agent"
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$debarch/" -e "s/@SIZE@/$size/" "$here/agent/debian/control.in" > "$deb/DEBIAN/control"
install -m 0644 "$here/agent/debian/conffiles" "$deb/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/agent/debian/$script" "$deb/DEBIAN/$script"
done
dpkg-deb --root-owner-group -Zxz --build "$deb" "$output/platform-agent_${version}_${debarch}.deb" >/dev/null

# The api's tarball: one top directory, named as the file is.
name="platform-api-$version-$rid"
tree="$work/$name"
install -d "$tree"
cp -a "$work/api" "$tree/lib"
install -m 0644 "$here/api/platform-api.service" "$tree/platform-api.service"
install -m 0600 "$here/api/api.env" "$tree/api.env"
install -m 0644 "$here/api/INSTALL.md" "$tree/INSTALL.md"
tar --owner=root:0 --group=root:0 -czf "$output/$name.tar.gz" -C "$work" "$name"

echo "$output/platform-agent_${version}_${debarch}.deb"
echo "$output/$name.tar.gz"
