// Small helpers over the page, shared by every module.

export function $(selector, root) {
  return (root || document).querySelector(selector);
}

export function $$(selector, root) {
  return Array.from((root || document).querySelectorAll(selector));
}

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Whether a key press is someone typing (into a text field), not a command.
export function typing(event) {
  const target = event.target;
  return !!target && ((target.tagName === "INPUT" && target.type === "text") ||
    target.tagName === "TEXTAREA" || target.isContentEditable);
}

// A key press with a modifier belongs to the browser.
export function modified(event) {
  return event.altKey || event.ctrlKey || event.metaKey;
}

export function remember(key, value) {
  try { window.localStorage.setItem(key, value); } catch (error) { /* private mode: not remembered */ }
}

export function recall(key) {
  try { return window.localStorage.getItem(key); } catch (error) { return null; }
}
