<#
.SYNOPSIS
  A CI pipeline step: shows the plan for a FIM rules file (dry run), then applies it (scripts/fim-apply.sh in PowerShell).
.EXAMPLE
  ./scripts/Invoke-FimApply.ps1 -Api $env:API -Token $env:CI_TOKEN -Rules scripts/fim-rules.example.yaml -DryRunOnly
.NOTES
  The token needs the operator (or admin) role. Throws (exit 1) with the API's problem details if it refuses the file.
#>
param(
    [Parameter(Mandatory)][string] $Api,
    [Parameter(Mandatory)][string] $Token,
    [Parameter(Mandatory)][string] $Rules,
    [switch] $DryRunOnly
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'PlatformApi.ps1')

function Put-Ruleset([string] $Query) {
    Invoke-PlatformApi -Method Put -Uri "$Api/api/v1/fim/ruleset$Query" -Token $Token -ContentType 'application/yaml' `
        -Body ([IO.File]::ReadAllBytes((Resolve-Path $Rules)))
}

$plan = Put-Ruleset '?dryRun=true'
"plan for ${Rules}:"
foreach ($item in $plan.items | Where-Object action -ne 'unchanged') {
    $fields = if ($item.action -eq 'update' -and $item.changes.Count -gt 0) { " ($(($item.changes | ForEach-Object field) -join ', '))" } else { '' }
    "  $($item.action) $($item.name)$fields"
}
$s = $plan.summary
"  $($s.create) to create, $($s.update) to update, $($s.delete) to delete, $($s.unchanged) unchanged"
if ($DryRunOnly) { return }
if ($s.create + $s.update + $s.delete -eq 0) { 'nothing to apply'; return }
$result = Put-Ruleset ''
"applied: $($result.summary.create) created, $($result.summary.update) updated, $($result.summary.delete) deleted"
