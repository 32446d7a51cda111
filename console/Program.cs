using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components.WebAssembly.Hosting;
using Platform.WebConsole;
using Platform.WebConsole.Session;
using Platform.WebConsole.Shared;

var builder = WebAssemblyHostBuilder.CreateDefault(args);
builder.RootComponents.Add<App>("#app");
builder.RootComponents.Add<HeadOutlet>("head::after");

// The api that served the console: its origin, not /console/ (the generated client's paths start at api/v1/).
var api = new Uri(new Uri(builder.HostEnvironment.BaseAddress), "/");
builder.Services.AddSingleton(new ApiSession.Origin(api));
builder.Services.AddSingleton<ApiSession>();   // one per browser tab: WebAssembly has one scope
builder.Services.AddSingleton<FileSaver>();

await builder.Build().RunAsync();
