package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MuseDataTest {
    @TempDir
    Path dir;

    private void write(String rel, String json) throws IOException {
        Path f = dir.resolve(rel);
        Files.createDirectories(f.getParent());
        Files.writeString(f, json);
    }

    @Test
    void readsEverySchema() throws IOException {
        write("verbmem/forget.json", "[{\"prompt\": \"p\", \"gt\": \"g\", \"rougeL_target\": 0.5}]");
        write("knowmem/forget_qa.json", "[{\"question\": \"q1\", \"answer\": \"a1\"}, {\"question\": \"q2\", \"answer\": \"a2\"}]");
        write("knowmem/retain_qa_icl.json", "[]");
        write("privleak/holdout.json", "[\"text one\", \"text \\u00e9\"]");
        write("raw/retain1.json", "[\"\"]");
        MuseData d = MuseData.at(dir);
        assertEquals(List.of(new VerbMemItem("p", "g")), d.verbmemForget());
        assertEquals(List.of(new QA("q1", "a1"), new QA("q2", "a2")), d.knowmem("forget_qa"));
        assertEquals(List.of(), d.knowmem("retain_qa_icl"));
        assertEquals(List.of("text one", "text é"), d.privleak("holdout"));
        assertEquals(List.of(""), d.raw("retain1"));
    }

    @Test
    void missingFieldNamesFileItemLineAndField() throws IOException {
        write("verbmem/forget.json", """
                [
                  {"prompt": "a", "gt": "b"},
                  {"prompt": "a", "gt": "b"},
                  {"prompt": "a", "gt": "b"},
                  {"prompt": "a", "truth": "b"}
                ]
                """);
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).verbmemForget());
        assertEquals("verbmem/forget.json: item 3 (line 5): missing string field 'gt'", e.getMessage());
    }

    @Test
    void wrongTypesAreNamed() throws IOException {
        write("knowmem/retain_qa.json", "[{\"question\": \"q\", \"answer\": 42}]");
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).knowmem("retain_qa"));
        assertEquals("knowmem/retain_qa.json: item 0 (line 1): field 'answer' must be a string, found number", e.getMessage());

        write("privleak/forget.json", "[\"ok\",\n {\"text\": \"t\"}]");
        e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).privleak("forget"));
        assertEquals("privleak/forget.json: item 1 (line 2): expected a string, found object", e.getMessage());

        write("knowmem/forget_qa_icl.json", "[\"q\"]");
        e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).knowmem("forget_qa_icl"));
        assertEquals("knowmem/forget_qa_icl.json: item 0 (line 1): expected an object, found string", e.getMessage());

        write("raw/forget.json", "{\"forget\": []}");
        e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).raw("forget"));
        assertEquals("raw/forget.json: expected a JSON array, found an object (line 1)", e.getMessage());
    }

    @Test
    void invalidJsonAndMissingFiles() throws IOException {
        write("privleak/retain.json", "[\"a\",\n \"b\"\n \"c\"]");
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).privleak("retain"));
        assertTrue(e.getMessage().startsWith("privleak/retain.json: invalid JSON at line 3, column "), e.getMessage());

        e = assertThrows(MalformedDataException.class, () -> MuseData.at(dir).privleak("holdout"));
        assertTrue(e.getMessage().startsWith("privleak/holdout.json: file not found ("), e.getMessage());

        IllegalArgumentException u = assertThrows(IllegalArgumentException.class, () -> MuseData.at(dir).privleak("retain2"));
        assertEquals("unknown privleak split 'retain2'; supported: forget, retain, holdout", u.getMessage());
    }

    @Test
    void logReadersReportTheirItems() throws IOException {
        write("log.json", "[{\"gt\": \"a\", \"response\": \"a\", \"rougeL\": 1, \"rougeL_recall\": 1, \"rouge1\": 1.0}]");
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> RougeLog.load(dir.resolve("log.json")));
        assertEquals(dir.resolve("log.json") + ": item 0 (line 1): missing number field 'rouge1_recall'", e.getMessage());

        write("pl.json", "{\"forget\": [{\"text\": \"a\", \"PPL\": 1.5, \"Min-5%\": NaN}],\n \"holdout\": [{\"text\": \"b\", \"PPL\": 2}]}");
        e = assertThrows(MalformedDataException.class, () -> PrivLeakLog.load(dir.resolve("pl.json")));
        assertEquals(dir.resolve("pl.json") + ": split 'holdout': item 0 (line 2): missing number field 'Min-5%'", e.getMessage());

        write("pl2.json", "{\"forget\": [{\"text\": \"a\", \"PPL\": 1.5, \"Min-5%\": NaN}]}");
        PrivLeakLog ok = PrivLeakLog.load(dir.resolve("pl2.json"));
        assertEquals(List.of("PPL", "Min-5%"), ok.features());
        assertTrue(Double.isNaN(ok.feature("forget", "Min-5%")[0]), "Python's json writes NaN for a NaN feature");
    }
}
