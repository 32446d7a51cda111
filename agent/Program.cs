// The agent host. Enrollment, the flight data recorder, FIM watchers and the delivery spool are added
// by their own issues; until then the worker starts, logs its configuration and waits for shutdown.
var builder = Host.CreateApplicationBuilder(args);
var host = builder.Build();
host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Agent")
    .LogInformation("Platform agent started; API at {ApiUrl}", builder.Configuration["Platform:ApiUrl"] ?? "(not configured)");
await host.RunAsync();
