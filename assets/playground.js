// Playground page behaviour that Gradio components do not offer; loaded by launch(js=...).
() => {
  // 1. Prompt keys: Enter generates (or starts a battle), Shift+Enter adds a new line (Gradio's
  //    multi-line default is the reverse). A capture listener runs before Gradio's own key handler.
  const PROMPTS = { "text-prompt": "text-generate", "image-prompt": "image-generate", "arena-prompt": "arena-start" };
  const promptBox = (event) => {
    if (event.key !== "Enter" || event.isComposing || event.target.tagName !== "TEXTAREA") return null;
    return event.target.closest("#text-prompt, #image-prompt, #arena-prompt");
  };
  window.addEventListener("keydown", (event) => {
    const box = promptBox(event);
    if (!box || event.shiftKey) return;  // Shift+Enter: the default inserts the new line
    event.preventDefault();
    event.stopPropagation();
    document.querySelector("#" + PROMPTS[box.id])?.click();
  }, true);
  // Gradio's textbox generates on Shift+Enter in its keypress handler: keep that from it.
  window.addEventListener("keypress", (event) => { if (promptBox(event)) event.stopPropagation(); }, true);

  // 2. After Generate, bring the results into view (on a phone they start far below the button).
  window.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#text-generate, #image-generate");
    if (!button) return;
    const cards = document.getElementById(button.id.replace("-generate", "-cards"));
    setTimeout(() => cards?.scrollIntoView({ behavior: "smooth", block: "start" }), 50);
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
      const group = block.querySelector("input[type=radio]")?.closest("label")?.parentElement;
      if (!group) return;
      if (group.getAttribute("aria-label") !== name) {
        group.setAttribute("role", "radiogroup");
        group.setAttribute("aria-label", name);
      }
      group.querySelectorAll("input[type=radio]").forEach((input) => {
        if (input.name !== block.id) input.name = block.id;
      });
    });
    // Gradio's empty image placeholder is a div with an aria-label but no role.
    document.querySelectorAll("div.empty[aria-label]:not([role])").forEach((box) => box.setAttribute("role", "img"));
    document.querySelectorAll("[id^='image-'][id$='-output'] img").forEach((img) => {
      const card = img.closest("[id$='-output']");
      const meta = document.getElementById(card.id.replace("-output", "-meta"))?.innerText || "";
      const seed = (meta.match(/seed\s+(\d+)/) || [])[1];
      // The card's facts (its seed) arrive just after its image: name it again when they do.
      const key = `${img.src}|${seed || ""}`;
      if (img.dataset.altFor === key && img.getAttribute("alt")) return;
      img.dataset.altFor = key;
      const index = Number((card.id.match(/-(\d+)-output$/) || [0, 0])[1]) + 1;
      const prompt = document.querySelector("#image-prompt textarea")?.value || "";
      img.setAttribute("alt", `Image ${index}` + (prompt ? ` for "${prompt}"` : "") + (seed ? `, seed ${seed}` : ""));
    });
  };
  // Gradio re-renders (and renames) radios and swaps image sources: re-apply, once per frame.
  let pending = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; nameGroups(); });
  };
  new MutationObserver(schedule).observe(document.body, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["name", "src"],
  });
  nameGroups();

  // 4. A "Guidelines" link in a message (a refused prompt, "About this answer") opens the
  //    Guidelines tab: Gradio's tabs have no address of their own.
  window.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href='#guidelines']");
    if (!link) return;
    event.preventDefault();
    const tab = document.getElementById("tab-guidelines-button")
      || [...document.querySelectorAll("button[role=tab]")].find((b) => b.textContent.trim() === "Guidelines");
    tab?.click();
    setTimeout(() => document.getElementById("tab-guidelines")?.scrollIntoView({ block: "start" }), 50);
  }, true);

  // 5. Escape closes a shaded word's confidence tooltip (shown on hover and on keyboard focus,
  //    assets/style.css) without moving the pointer or the focus; it shows again when the pointer
  //    or the focus comes back to the word.
  window.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".tok:hover, .tok:focus-visible").forEach((word) => word.classList.add("tip-closed"));
  });
  const reopen = (event) => {
    const word = event.target.closest && event.target.closest(".tok.tip-closed");
    if (word && !word.contains(event.relatedTarget)) word.classList.remove("tip-closed");
  };
  window.addEventListener("focusin", reopen);
  window.addEventListener("mouseover", reopen);
}
