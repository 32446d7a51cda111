namespace Platform.Contracts;

/// <summary>
/// Files whose reading matters with no FIM rule (FIM globs: <c>*</c>, <c>**</c>, <c>?</c>, classes): account databases,
/// SSH keys, private keys, cloud and cluster credentials, mounted secrets. The api's detection starts its exfiltration
/// rule from a read of one (<c>Platform:Detection:SensitivePaths</c>); the agent's kernel sensor reports every open of
/// one (<c>Platform:Agent:Sensor:SensitivePaths</c>). One list, so that what the agent reports is what detection uses.
/// </summary>
public static class SensitivePaths
{
    public static IReadOnlyList<string> Defaults { get; } =
    [
        "/etc/passwd", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/master.passwd",
        "/root/.ssh/*", "/home/*/.ssh/id_*", "/home/*/.ssh/authorized_keys", "/**/*.pem", "/**/*.key",
        "/**/.aws/credentials", "/**/.config/gcloud/**", "/**/.azure/**", "/**/.kube/config", "/**/.docker/config.json",
        "/var/run/secrets/kubernetes.io/serviceaccount/token", "/run/secrets/**",
    ];

    /// <summary>
    /// Files that match a sensitive glob by their name but hold nothing secret: the public CA certificate bundles every
    /// TLS client reads (<c>*.pem</c>: Python's certifi <c>cacert.pem</c>, the system's certificate directories). Reading
    /// one and then connecting out is what every HTTPS client does, not an exfiltration: neither reported by the sensor
    /// (<c>Platform:Agent:Sensor:NotSecretPaths</c>) nor a start of the rule (<c>Platform:Detection:NotSecretPaths</c>).
    /// </summary>
    public static IReadOnlyList<string> NotSecretDefaults { get; } =
    [
        "/etc/ssl/certs/**", "/usr/share/ca-certificates/**", "/usr/local/share/ca-certificates/**", "/etc/ca-certificates/**",
        "/etc/pki/ca-trust/**", "/etc/pki/tls/certs/**", "/**/certifi/cacert.pem",
    ];
}
