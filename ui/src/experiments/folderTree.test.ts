import { describe, expect, it } from "vitest";
import type { Experiment } from "../api/types";
import { allFolderPaths, buildFolders, flattenFolders, folderPrefix } from "./folderTree";

const exp = (id: string, name: string, t = 0): Experiment => ({ experiment_id: id, name, last_update_time: t });
const list = [
  exp("1", "/Shared/team/b", 5),
  exp("2", "/Shared/team/a", 9),
  exp("3", "/Users/alice/x", 7),
  exp("4", "Default", 1),
  exp("5", "/Shared/top", 2),
];

describe("buildFolders", () => {
  it("splits names into folders and counts what is below", () => {
    const root = buildFolders(list);
    expect(root.folders.map((f) => f.name)).toEqual(["Shared", "Users"]);
    expect(root.experiments.map((e) => e.name)).toEqual(["Default"]);
    const shared = root.folders[0]!;
    expect(shared).toMatchObject({ path: "Shared", count: 3, lastUpdate: 9 });
    expect(shared.folders[0]).toMatchObject({ path: "Shared/team", count: 2 });
    expect(shared.folders[0]?.experiments.map((e) => e.experiment_id)).toEqual(["1", "2"]);
    expect(allFolderPaths(root)).toEqual(["Shared", "Shared/team", "Users", "Users/alice"]);
  });
  it("orders folders by their latest update when sorting by update", () => {
    expect(buildFolders(list, true, true).folders.map((f) => f.name)).toEqual(["Shared", "Users"]);
    expect(buildFolders(list, true, false).folders.map((f) => f.name)).toEqual(["Users", "Shared"]);
    expect(buildFolders(list, false, true).folders.map((f) => f.name)).toEqual(["Users", "Shared"]);
  });
});

describe("flattenFolders", () => {
  it("lists folders before experiments and hides collapsed folders' content", () => {
    const root = buildFolders(list);
    const rows = flattenFolders(root, new Set());
    expect(rows.map((r) => (r.kind === "folder" ? `F:${r.folder.path}@${r.depth}` : `E:${r.leaf}@${r.depth}`))).toEqual([
      "F:Shared@0",
      "F:Shared/team@1",
      "E:b@2",
      "E:a@2",
      "E:top@1",
      "F:Users@0",
      "F:Users/alice@1",
      "E:x@2",
      "E:Default@0",
    ]);
    const closed = flattenFolders(root, new Set(["Shared/team", "Users"]));
    expect(closed.map((r) => (r.kind === "folder" ? `F:${r.folder.path}:${r.open}` : `E:${r.leaf}`))).toEqual([
      "F:Shared:true",
      "F:Shared/team:false",
      "E:top",
      "F:Users:false",
      "E:Default",
    ]);
  });
  it("gives a new experiment's path in a folder", () => {
    const root = buildFolders(list);
    expect(folderPrefix(root.folders[0]!.folders[0]!)).toBe("/Shared/team/");
    expect(folderPrefix(null)).toBe("/");
  });
});
