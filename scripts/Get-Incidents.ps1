<#
.SYNOPSIS
  Pulls incidents created or changed since the last pull (scripts/incidents-pull.sh in PowerShell): writes each
  incident to the pipeline and keeps where it stopped (the API's resumeCursor) in -StateFile, so that the next run
  gets what changed since, none missed and none twice.
.EXAMPLE
  ./scripts/Get-Incidents.ps1 -Api $env:API -Token $env:SOAR_TOKEN -StateFile ./incidents.cursor -Filters 'status=open&severity=critical'
#>
param(
    [Parameter(Mandatory)][string] $Api,
    [Parameter(Mandatory)][string] $Token,
    [Parameter(Mandatory)][string] $StateFile,
    [string] $Filters = ''
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'PlatformApi.ps1')

$cursor = if (Test-Path $StateFile) { (Get-Content -Raw $StateFile).Trim() } else { '' }
do {
    $query = 'limit=200'
    if ($Filters) { $query += "&$Filters" }
    if ($cursor) { $query += "&cursor=$([Uri]::EscapeDataString($cursor))" }
    $page = Invoke-PlatformApi -Uri "$Api/api/v1/incidents?$query" -Token $Token
    $page.items
    # Saved after every page: a run stopped half way goes on from the last page it wrote out.
    $cursor = $page.resumeCursor
    Set-Content -NoNewline -Path $StateFile -Value $cursor
} while ($page.nextCursor)
