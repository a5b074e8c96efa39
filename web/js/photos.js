// Photo uploads: the raw file as the body (the server decodes and re-encodes it).
import { ApiError, getToken } from "./api.js";

export async function uploadPhoto(path, file) {
  const response = await fetch(path, {
    method: "POST",
    body: file,
    headers: { "Content-Type": file.type, Authorization: `Bearer ${getToken()}` },
  });
  if (!response.ok) {
    let code = `http_${response.status}`;
    try {
      code = (await response.json()).error.code || code;
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(response.status, code, "photo");
  }
  return response.json();
}
