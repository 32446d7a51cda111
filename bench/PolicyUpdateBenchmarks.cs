using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent.Enforcement;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// A policy update over many protected files (issue 21: 10,000 files, attributes applied in under 2 s, and the agent's
/// memory for them): a <c>prevent</c> rule over <c>protectFiles</c> files (10,000, in directories of 100) on this
/// machine's disk (/var/tmp: ext4 here), applied by the agent's <see cref="InodeAttributeEnforcement"/> as the
/// policy poll does. Timed: the first application (the plan, the write-ahead ledger with its two fsynced writes, one
/// FS_IOC_SETFLAGS per inode), the same policy again (nothing to change: the periodic rescan), the check that puts back a
/// removed attribute (<c>VerifySeconds</c>), the inode list the kernel sensor's map is filled from, and giving every
/// attribute back (rule removed). Memory: the managed heap held while the files are protected, against before; the ledger
/// file on disk. Each file is checked to refuse a write (as root) before the figures count.
/// </summary>
public static class PolicyUpdateBenchmarks
{
    public static Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        var files = settings.GetValueOrDefault("protectFiles", 10_000);
        var root = Directory.CreateDirectory(Path.Combine("/var/tmp", "bench-policy-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        var state = Directory.CreateDirectory(Path.Combine(root, "agent-state")).FullName;
        var tree = Directory.CreateDirectory(Path.Combine(root, "protected")).FullName;
        InodeAttributeEnforcement? enforcement = null;
        try
        {
            var paths = new List<string>(files);
            for (var i = 0; i < files; i++)
            {
                var directory = Path.Combine(tree, $"d{i / 100:D4}");
                if (i % 100 == 0)
                    Directory.CreateDirectory(directory);
                var path = Path.Combine(directory, $"f{i % 100:D2}.conf");
                File.WriteAllText(path, "setting=value\n");
                paths.Add(path);
            }

            var rule = new FimRule
            {
                Id = "fim_bench_policy",
                Name = "bench-policy",
                Enabled = true,
                Severity = FimSeverity.High,
                Scope = new FimScope { Hostnames = ["*"] },
                Paths = [new FimPath { Path = tree, Recursive = true }],
                Operations = [FimOperation.Write],
                Effect = FimEffect.Prevent,
                Version = 1,
            };
            var unlocked = new Dictionary<string, DateTimeOffset>();

            var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            enforcement = new InodeAttributeEnforcement(new EnforcementLedger(state, NullLogger.Instance), new EnforcementOptions(), NullLogger.Instance);
            var clock = Stopwatch.StartNew();
            var first = enforcement.Apply([rule], unlocked, DateTimeOffset.UtcNow);
            var apply = clock.Elapsed;
            clock.Restart();
            var again = enforcement.Apply([rule], unlocked, DateTimeOffset.UtcNow);
            var unchanged = clock.Elapsed;
            clock.Restart();
            var putBack = enforcement.Verify();
            var verify = clock.Elapsed;
            clock.Restart();
            var inodes = enforcement.ProtectedInodes();
            var list = clock.Elapsed;
            var heapHeld = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
            var ledgerBytes = new FileInfo(Path.Combine(state, "enforcement.json")).Length;

            // The figures count only if the kernel refuses every write now (root included) and nothing was missing.
            var writable = paths.Count(Writable);
            if (first.Protected < files || again.Set != 0 || putBack.Count != 0 || inodes.Count < files || writable != 0)
                throw new InvalidOperationException($"the policy did not protect every file: {first.Protected} protected, {again.Set} set again, {putBack.Count} put back, {inodes.Count} inodes, {writable} still writable");

            clock.Restart();
            var restored = enforcement.RestoreAll();
            var giveBack = clock.Elapsed;
            if (restored < files || paths.Count(Writable) != paths.Count)
                throw new InvalidOperationException($"giving back restored {restored} inodes; some files stayed protected");

            string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture) + " ms";
            results.Add(($"policy update: prevent rule over {files:N0} files ({first.Protected:N0} inodes with their directories), attributes applied", Ms(apply), "< 2 s"));
            results.Add(("policy update: the same policy again (nothing to change)", Ms(unchanged), "reported"));
            results.Add(("policy update: check of every attribute (VerifySeconds)", Ms(verify), "reported"));
            results.Add(("policy update: the inode list for the sensor's map", Ms(list), "reported"));
            results.Add(("policy update: every attribute given back (rule removed)", Ms(giveBack), "reported"));
            results.Add(("policy update: agent memory for the protected inodes (managed heap held; ledger on disk)",
                $"{heapHeld / 1024.0 / 1024.0:N1} MiB; ledger {ledgerBytes / 1024.0 / 1024.0:N1} MiB ({ledgerBytes / Math.Max(1, first.Protected):N0} bytes per inode)", "reported"));
            Console.WriteLine($"policy update over {files:N0} files: apply {Ms(apply)}, again {Ms(unchanged)}, verify {Ms(verify)}, list {Ms(list)}, give back {Ms(giveBack)}, heap {heapHeld:N0} bytes, ledger {ledgerBytes:N0} bytes");
        }
        finally
        {
            enforcement?.RestoreAll();
            Directory.Delete(root, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether the file can be opened for writing (false when the kernel refuses it: the immutable attribute).</summary>
    private static bool Writable(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
