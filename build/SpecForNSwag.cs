// The MSBuild task of SpecForNSwag.targets, compiled by RoslynCodeTaskFactory at build time (netstandard2.0: no ranges), in no project.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;

/// <summary>
/// Writes the copy of openapi.yaml that NSwag generates C# from. openapi.yaml describes each polymorphic schema as
/// standard JSON Schema reads it: <c>X</c> is a <c>oneOf</c> of its subtypes with a discriminator, each subtype is
/// <c>allOf [XBase, its own properties]</c> and, so that <c>additionalProperties: false</c> holds, lists XBase's
/// property names again as placeholders (<c>id: {}</c>; the discriminator property with the subtype's one value).
/// NSwag 14 turns a <c>oneOf</c> into an empty class and names a subtype after it, and each placeholder into an
/// untyped property; it wants a base schema with the discriminator and subtypes that extend it. So the copy has,
/// for each such X: XBase renamed X (every <c>$ref</c> too) with X's discriminator, X's <c>oneOf</c> gone, and the
/// subtypes' placeholders gone. Nothing else changes. Anything unexpected fails the build, naming the schema.
/// </summary>
public sealed class SpecForNSwag : Microsoft.Build.Utilities.Task
{
    private const string Component = "    ";

    [Required]
    public string Spec { get; set; } = "";

    [Required]
    public string Output { get; set; } = "";

    public override bool Execute()
    {
        try
        {
            var lines = File.ReadAllLines(Spec).ToList();
            foreach (var name in Polymorphic(lines))
                Rewrite(lines, name);
            Directory.CreateDirectory(Path.GetDirectoryName(Output)!);
            File.WriteAllLines(Output, lines);
            return true;
        }
        catch (InvalidDataException ex)
        {
            Log.LogError("{0}: {1}", Spec, ex.Message);
            return false;
        }
    }

    /// <summary>Components that are a oneOf with a discriminator and have a Base beside them.</summary>
    private static List<string> Polymorphic(List<string> lines)
    {
        var result = new List<string>();
        foreach (var name in lines.Where(IsComponentKey).Select(l => l.Trim().TrimEnd(':')).Distinct())
        {
            if (Find(lines, name) < 0)
                continue;
            var (start, end) = Block(lines, name);
            var body = lines.GetRange(start, end - start);
            if (body.Contains("      oneOf:") && body.Contains("      discriminator:") && Find(lines, name + "Base") >= 0)
                result.Add(name);
        }

        return result;
    }

    private static void Rewrite(List<string> lines, string name)
    {
        var baseName = name + "Base";
        var (start, end) = Block(lines, name);
        var wrapper = lines.GetRange(start, end - start);
        var at = wrapper.IndexOf("      discriminator:");
        var discriminator = wrapper.Skip(at).Take(1).Concat(wrapper.Skip(at + 1).TakeWhile(l => l.StartsWith("        ", StringComparison.Ordinal))).ToList();
        var subtypes = discriminator.Where(l => l.Contains("#/components/schemas/")).Select(l => l.Substring(l.LastIndexOf('/') + 1).Trim('"', ' ')).ToList();
        if (subtypes.Count == 0)
            throw new InvalidDataException($"{name}: the discriminator has no mapping.");
        lines.RemoveRange(start - 1, end - start + 1);

        var (baseStart, baseEnd) = Block(lines, baseName);
        var properties = lines.GetRange(baseStart, baseEnd - baseStart)
            .SkipWhile(l => l != "      properties:").Skip(1)
            .Where(l => l.Length > 8 && l.StartsWith("        ", StringComparison.Ordinal) && l[8] != ' ' && l.EndsWith(":", StringComparison.Ordinal))
            .Select(l => l.Trim().TrimEnd(':')).ToList();
        var insertAt = baseEnd;
        while (string.IsNullOrWhiteSpace(lines[insertAt - 1]))
            insertAt--;
        lines.InsertRange(insertAt, discriminator);
        lines[baseStart - 1] = $"{Component}{name}:";

        foreach (var subtype in subtypes)
        {
            var (s, e) = Block(lines, subtype);
            var placeholders = Enumerable.Range(s, e - s)
                .Where(i => lines[i].StartsWith("            ", StringComparison.Ordinal) && lines[i][12] != ' '
                    && properties.Any(p => lines[i].StartsWith($"            {p}: {{", StringComparison.Ordinal)) && lines[i].EndsWith("}", StringComparison.Ordinal))
                .ToList();
            if (placeholders.Count != properties.Count)
                throw new InvalidDataException($"{subtype} must list each property of {baseName} once, on one line ('id: {{}}'): found {placeholders.Count} of {properties.Count}.");
            for (var i = placeholders.Count - 1; i >= 0; i--)
                lines.RemoveAt(placeholders[i]);
        }

        for (var i = 0; i < lines.Count; i++)
            lines[i] = lines[i].Replace($"#/components/schemas/{baseName}\"", $"#/components/schemas/{name}\"");
    }

    private static bool IsComponentKey(string line) =>
        line.Length > 5 && line.StartsWith(Component, StringComparison.Ordinal) && line[4] != ' ' && line.EndsWith(":", StringComparison.Ordinal);

    /// <summary>The line of <c>components/schemas/{name}</c>'s key (examples and parameters may have the same names).</summary>
    private static int Find(List<string> lines, string name)
    {
        var schemas = lines.IndexOf("  schemas:");
        if (schemas < 0)
            throw new InvalidDataException("no components/schemas.");
        for (var i = schemas + 1; i < lines.Count && (lines[i].Length == 0 || lines[i].StartsWith("   ", StringComparison.Ordinal)); i++)
        {
            if (lines[i] == $"{Component}{name}:")
                return i;
        }

        return -1;
    }

    /// <summary>The lines of a component's schema (after its key, up to the next key at the same depth).</summary>
    private static (int Start, int End) Block(List<string> lines, string name)
    {
        var key = Find(lines, name);
        if (key < 0)
            throw new InvalidDataException($"no schema '{name}'.");
        var end = key + 1;
        while (end < lines.Count && (string.IsNullOrWhiteSpace(lines[end]) || lines[end].StartsWith(Component + " ", StringComparison.Ordinal)))
            end++;
        return (key + 1, end);
    }
}
