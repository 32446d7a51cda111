<#
.SYNOPSIS
  Downloads a forensic bundle and verifies its signature (with openssl) and its manifest (scripts/bundle-download.sh in PowerShell).
  Run it again after an interrupted download: it resumes where the file stopped (If-Range with the saved ETag;
  if the bundle changed meanwhile, the whole new one is downloaded). A bundle too large to build within one
  request answers 202 while the api builds it: the script waits as told (Retry-After) and asks for its Location.
.EXAMPLE
  ./scripts/Get-Bundle.ps1 -Api $env:API -Token $env:SOAR_TOKEN -BundlePath "/api/v1/incidents/$id/bundle" -OutFile incident.zip
#>
param(
    [Parameter(Mandatory)][string] $Api,
    [Parameter(Mandatory)][string] $Token,
    [Parameter(Mandatory)][string] $BundlePath,
    [Parameter(Mandatory)][string] $OutFile,
    # A PEM public key you trust; default: the api's (GET /api/v1/signing-keys)
    [string] $SigningKey
)
$ErrorActionPreference = 'Stop'
$etagFile = "$OutFile.etag"
$headers = @{ Authorization = "Bearer $Token" }
$resume = (Test-Path $OutFile) -and (Test-Path $etagFile) -and (Get-Item $OutFile).Length -gt 0
if ($resume) {
    $headers['If-Range'] = (Get-Content -Raw $etagFile).Trim()
    Write-Host "resuming $OutFile from byte $((Get-Item $OutFile).Length)"
} elseif (Test-Path $OutFile) {
    Remove-Item $OutFile
}

# -Resume asks for the rest of the file; a server that sends the whole bundle (it changed) overwrites it.
$response = Invoke-WebRequest -Uri "$Api$BundlePath" -Headers $headers -OutFile $OutFile -Resume:$resume -PassThru -SkipHttpErrorCheck
# A large bundle is built in the background: 202 until it is, with the request that gets it (its window pinned).
while ($response.StatusCode -eq 202) {
    $build = Get-Content -Raw $OutFile | ConvertFrom-Json
    $wait = if ($response.Headers['Retry-After']) { [int]([string]$response.Headers['Retry-After']) } else { 5 }
    Write-Host "the api is building this bundle ($($build.events) events, $($build.state)); asking again in $wait s"
    Remove-Item $OutFile
    Start-Sleep -Seconds $wait
    $BundlePath = [string]$response.Headers['Location']
    $response = Invoke-WebRequest -Uri "$Api$BundlePath" -Headers $headers -OutFile $OutFile -PassThru -SkipHttpErrorCheck
}
if ($response.StatusCode -ge 400) {
    $problem = Get-Content -Raw $OutFile | ConvertFrom-Json -ErrorAction SilentlyContinue
    Remove-Item $OutFile, $etagFile -ErrorAction SilentlyContinue
    throw "HTTP $($response.StatusCode) $($problem.title): $($problem.detail)"
}
if ($response.Headers.ETag) { Set-Content -NoNewline -Path $etagFile -Value ([string]$response.Headers.ETag) }

$dir = Join-Path ([IO.Path]::GetTempPath()) ([IO.Path]::GetRandomFileName())
try {
    Expand-Archive -Path $OutFile -DestinationPath $dir
    $manifest = Get-Content -Raw (Join-Path $dir 'manifest.json') | ConvertFrom-Json
    # The signature, checked with openssl (.NET has no Ed25519) against the api's key, never the bundle's own.
    $trusted = Join-Path $dir 'trusted.pem'
    if ($SigningKey) { Copy-Item $SigningKey $trusted }
    else { Set-Content -NoNewline -Path $trusted -Value ((Invoke-RestMethod -Uri "$Api/api/v1/signing-keys").items | Where-Object current).publicKeyPem }
    $der = [Convert]::FromBase64String(((Get-Content $trusted) | Where-Object { $_ -notmatch '-----' }) -join '')
    $keyId = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($der)).ToLowerInvariant()
    if ($manifest.signature.keyId -ne $keyId) { throw "the manifest names signing key $($manifest.signature.keyId), not the trusted $keyId" }
    & openssl pkeyutl -verify -pubin -inkey $trusted -rawin -in (Join-Path $dir 'manifest.json') -sigfile (Join-Path $dir 'manifest.sig') | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "manifest.sig is not key $keyId's signature of manifest.json" }
    $listed = @($manifest.entries.name) + 'manifest.json', 'manifest.sig'
    $extra = Get-ChildItem -Recurse -File $dir | Where-Object { $_.Name -ne 'trusted.pem' -and $listed -notcontains $_.Name }
    if ($extra) { throw "not in the manifest: $($extra.Name -join ', ')" }
    foreach ($entry in $manifest.entries) {
        $hash = (Get-FileHash -Algorithm SHA256 (Join-Path $dir $entry.name)).Hash.ToLowerInvariant()
        if ($hash -ne $entry.sha256) { throw "$($entry.name) does not match the manifest" }
    }
    Remove-Item $etagFile -ErrorAction SilentlyContinue
    "verified ${OutFile}: signed by key $keyId, $($manifest.entries.Count) entries, $($manifest.counts.events) events $($manifest.state)"
} finally {
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}
