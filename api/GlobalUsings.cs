// The namespaces nearly every file of the API uses: text and JSON, the stores' Dapper over System.Data.Common,
// the handlers' typed results, the API's own storage, HTTP and auth plumbing, and the generated contracts.
global using System.Data.Common;
global using System.Globalization;
global using System.Text;
global using System.Text.Json;
global using Dapper;
global using Microsoft.AspNetCore.Http.HttpResults;
global using Platform.Api.Auth;
global using Platform.Api.Http;
global using Platform.Api.Storage;
global using Platform.Contracts;
