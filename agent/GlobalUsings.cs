// The namespaces most of the agent uses: the generated contracts, and the interop its kernel interfaces are made of.
global using System.Runtime.InteropServices;
global using Microsoft.Win32.SafeHandles;
global using Platform.Contracts;
