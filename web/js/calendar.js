// "Remind me": an iCalendar (RFC 5545) event for a scheduled session, made in the browser.
// Times are UTC ("...Z") so every calendar app shows the right local hour.

const enc = new TextEncoder();

/** 2026-12-01T13:00:00Z -> "20261201T130000Z". */
export function icsTime(date) {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 §3.3.11). */
export function icsText(text) {
  return String(text)
    .replace(/\\/g, "\\\\")
    .replace(/;/g, "\\;")
    .replace(/,/g, "\\,")
    .replace(/\r?\n/g, "\\n");
}

/** Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1). */
export function icsFold(line) {
  const out = [];
  let part = "";
  let bytes = 0;
  for (const ch of line) {
    const n = enc.encode(ch).length;
    const limit = out.length ? 74 : 75; // continuation lines start with one space
    if (bytes + n > limit) {
      out.push(part);
      part = "";
      bytes = 0;
    }
    part += ch;
    bytes += n;
  }
  out.push(part);
  return out.join("\r\n ");
}

/**
 * The calendar file for one session: start, an hour long, a reminder 15 minutes before.
 * @param {{uid: string, start: Date, title: string, url: string, description: string, alarm: string}} e
 */
export function icsEvent(e) {
  const end = new Date(e.start.getTime() + 60 * 60 * 1000);
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//farmlive//viewer//VI",
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    "BEGIN:VEVENT",
    `UID:${e.uid}`,
    `DTSTAMP:${icsTime(new Date())}`,
    `DTSTART:${icsTime(e.start)}`,
    `DTEND:${icsTime(end)}`,
    `SUMMARY:${icsText(e.title)}`,
    `DESCRIPTION:${icsText(e.description)}`,
    `URL:${e.url}`,
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    `DESCRIPTION:${icsText(e.alarm)}`,
    "TRIGGER:-PT15M",
    "END:VALARM",
    "END:VEVENT",
    "END:VCALENDAR",
  ];
  return `${lines.map(icsFold).join("\r\n")}\r\n`;
}

/** Hand the file to the browser as a download (a Blob URL: nothing leaves the page). */
export function downloadIcs(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/calendar;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
