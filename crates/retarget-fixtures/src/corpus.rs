//! A small multilingual corpus written for retarget's fixtures: enough text to
//! train real tokenizers of a few hundred tokens, in several scripts.

/// Training text, one sentence per line.
pub const CORPUS: &str = "\
The river carried the old boat past the sleeping village at dawn.
A small library opened near the market, and children came every afternoon.
Farmers in the valley planted maize, beans and cassava after the first rains.
The teacher wrote the new words on the board and the class read them aloud.
Every language has its own music, its own jokes and its own way of counting.
She translated the letter from English into Swahili for her grandmother.
The engineers measured the bridge twice before the trucks were allowed to cross.
Numbers like 12, 345 and 2026 appear in reports, tables and timetables.
Mto ulibeba mashua ya zamani kupita kijiji kilicholala alfajiri.
Maktaba ndogo ilifunguliwa karibu na soko, na watoto walikuja kila mchana.
Wakulima bondeni walipanda mahindi, maharagwe na mihogo baada ya mvua za kwanza.
Mwalimu aliandika maneno mapya ubaoni na darasa likayasoma kwa sauti.
Kila lugha ina muziki wake, utani wake na njia yake ya kuhesabu.
Ibaiak herri lotiaren ondotik eraman zuen txalupa zaharra egunsentian.
Liburutegi txiki bat ireki zuten azokaren ondoan, eta haurrak arratsaldero etortzen ziren.
Irakasleak hitz berriak arbelean idatzi zituen eta ikasleek ozen irakurri zituzten.
Hizkuntza bakoitzak bere musika, bere txisteak eta zenbatzeko bere modua ditu.
Река несла старую лодку мимо спящей деревни на рассвете.
Учитель написал новые слова на доске, и класс прочитал их вслух.
Елга иртә белән йоклаган авыл яныннан иске көймәне алып китте.
Укытучы яңа сүзләрне тактага язды, һәм сыйныф аларны кычкырып укыды.
नदी ने पुरानी नाव को सोते हुए गाँव के पास से सुबह बहा दिया।
शिक्षक ने नए शब्द बोर्ड पर लिखे और कक्षा ने उन्हें ज़ोर से पढ़ा।
النهر حمل القارب القديم بجانب القرية النائمة عند الفجر.
كتب المعلم الكلمات الجديدة على السبورة وقرأها الطلاب بصوت عال.
河流在黎明时分载着旧船经过沉睡的村庄。
老师把新词写在黑板上，全班大声朗读。
แม่น้ำพาเรือลำเก่าผ่านหมู่บ้านที่กำลังหลับในยามเช้า
The quick brown fox jumps over the lazy dog, again and again.
Translation quality is measured with BLEU, chrF and human judgement.
";

/// The corpus as lines.
pub fn lines() -> Vec<&'static str> {
    CORPUS.lines().filter(|l| !l.trim().is_empty()).collect()
}
