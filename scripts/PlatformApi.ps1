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
    $response
}
