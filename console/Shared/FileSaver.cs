using Microsoft.JSInterop;

namespace Platform.WebConsole.Shared;

/// <summary>Saves what the console downloaded (a bundle, an export) as a file, through wwwroot/js/download.js.</summary>
public sealed class FileSaver(IJSRuntime js) : IAsyncDisposable
{
    private IJSObjectReference? _module;

    public async Task SaveAsync(string name, string contentType, byte[] bytes)
    {
        _module ??= await js.InvokeAsync<IJSObjectReference>("import", "./js/download.js");
        await _module.InvokeVoidAsync("save", name, contentType, bytes);
    }

    public async ValueTask DisposeAsync()
    {
        if (_module is not null)
            await _module.DisposeAsync();
    }
}
