// Hands bytes the console fetched with its token to the browser as a file download: a link to a Blob URL, clicked.
// (A plain link to the API cannot carry the bearer token.)
export function save(name, type, bytes) {
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.rel = "noopener";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
}
