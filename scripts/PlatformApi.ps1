# Shared by the PowerShell scripts: one call to the API that turns an error response into an exception carrying
# the API's problem details (RFC 9457: title, status, detail, errors).
function Invoke-PlatformApi {
    param(
        [Parameter(Mandatory)][string] $Uri,
        [Parameter(Mandatory)][string] $Token,
        [string] $Method = 'Get',
        [object] $Body,
        [string] $ContentType = 'application/json'
    )
    $request = @{ Uri = $Uri; Method = $Method; Headers = @{ Authorization = "Bearer $Token" }; SkipHttpErrorCheck = $true; StatusCodeVariable = 'status' }
    if ($null -ne $Body) { $request.Body = $Body; $request.ContentType = $ContentType }
    $response = Invoke-RestMethod @request
    if ($status -ge 400) {
        $detail = if ($response.detail) { ": $($response.detail)" } else { '' }
        $errors = if ($response.errors) { ' ' + (($response.errors.PSObject.Properties | ForEach-Object { "$($_.Name): $($_.Value -join ' ')" }) -join '; ') } else { '' }
        throw "HTTP ${status} $($response.title)$detail$errors"
    }
    ConvertTo-Rfc3339Date $response
}

# Invoke-RestMethod turns every date the API sends into a [DateTime], which prints in the local time zone without
# saying which (12/05/2026 21:16:25): each goes back to RFC 3339 in UTC, as the API wrote it (2026-12-05T20:16:25Z).
function ConvertTo-Rfc3339Date {
    param([object] $Value)
    if ($Value -is [DateTime]) {
        return $Value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", [Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [DateTimeOffset]) {
        return $Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", [Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [Management.Automation.PSCustomObject]) {
        foreach ($property in $Value.PSObject.Properties) { $property.Value = ConvertTo-Rfc3339Date $property.Value }
        return $Value
    }
    if ($Value -is [Array]) {
        return , @($Value | ForEach-Object { ConvertTo-Rfc3339Date $_ })
    }
    $Value
}
