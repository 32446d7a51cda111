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
}
