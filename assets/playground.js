// Playground page behaviour that Gradio components do not offer; loaded by launch(js=...).
() => {
  // 1. Prompt keys: Enter generates, Shift+Enter adds a new line (Gradio's multi-line default is
  //    the reverse). A capture listener runs before Gradio's own key handler on the textarea.
  const PROMPTS = { "text-prompt": "text-generate", "image-prompt": "image-generate" };
  window.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    const box = event.target.closest && event.target.closest("#text-prompt, #image-prompt");
    if (!box || event.target.tagName !== "TEXTAREA") return;
    event.stopPropagation();  // Gradio would generate on Shift+Enter
    if (event.shiftKey) return;  // the default inserts the new line
    event.preventDefault();
    document.querySelector("#" + PROMPTS[box.id])?.click();
  }, true);

  // 2. After Generate, bring the results into view (on a phone they start far below the button).
  window.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#text-generate, #image-generate");
    if (!button) return;
    const status = document.getElementById(button.id.replace("-generate", "-status"));
    setTimeout(() => status?.scrollIntoView({ behavior: "smooth", block: "start" }), 50);
  }, true);

  // 3. Accessible names Gradio does not set: each score group is a named radio group, one Tab
  //    stop (shared `name`, arrow keys move); each image gets alt text from its prompt and seed.
  const label = (id) => {
    const parts = id.match(/^(text|image|annotate)-(\d+)-(naturalness|reliability|thumbs)$/);
    if (!parts) return null;
    const what = parts[1] === "image" ? "image" : "candidate";
    const axis = parts[3][0].toUpperCase() + parts[3].slice(1);
    return `${axis}, ${what} ${Number(parts[2]) + 1}`;
  };
  const nameGroups = () => {
    document.querySelectorAll("[id$='-naturalness'], [id$='-reliability'], [id$='-thumbs'], #text-diversity, #image-diversity, #text-best, #image-best").forEach((block) => {
      const name = label(block.id) || (block.id.endsWith("diversity") ? "Diversity of the set" : "Best candidate");
      const group = block.querySelector(".wrap") || block;
      if (group.getAttribute("aria-label") !== name) {
        group.setAttribute("role", "radiogroup");
        group.setAttribute("aria-label", name);
      }
      group.querySelectorAll("input[type=radio]").forEach((input) => {
        if (input.name !== block.id) input.name = block.id;
      });
    });
    document.querySelectorAll("[id^='image-'][id$='-output'] img, [id^='annotate-'][id$='-output'] img").forEach((img) => {
      if (img.getAttribute("alt")) return;
      const card = img.closest("[id$='-output']");
      const index = Number((card.id.match(/-(\d+)-output$/) || [0, 0])[1]) + 1;
      const prompt = document.querySelector("#image-prompt textarea")?.value || "";
      const meta = document.getElementById(card.id.replace("-output", "-meta"))?.innerText || "";
      const seed = (meta.match(/seed\s+(\d+)/) || [])[1];
      img.setAttribute("alt", `Image ${index}` + (prompt ? ` for "${prompt}"` : "") + (seed ? `, seed ${seed}` : ""));
    });
  };
  new MutationObserver(nameGroups).observe(document.body, { childList: true, subtree: true });
  nameGroups();
}
